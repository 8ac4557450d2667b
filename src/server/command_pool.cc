#include "server/command_pool.h"

#include <algorithm>
#include <exception>
#include <optional>
#include <string>

#include "exec/repository_lock.h"

namespace harness {

namespace {

CommandResult not_run(const std::string& why) {
  CommandResult result;
  result.returncode = 127;
  result.stderr_text = "harness: " + why;
  return result;
}

constexpr const char* kShuttingDown = "the daemon is shutting down";
constexpr const char* kCancelled = "cancelled: the client went away before the command started";

}  // namespace

CommandPool::CommandPool(std::size_t max_running, Runner runner)
    : max_running_(std::max<std::size_t>(1, max_running)),
      runner_(runner ? std::move(runner)
                     : Runner([](const CommandSpec& spec, std::stop_token stop) {
                         return run_command(spec, stop);
                       })) {}

CommandPool::~CommandPool() { shutdown(); }

void CommandPool::run(CommandSpec spec, Lock lock, std::stop_token cancel, Done done) {
  Job job{std::move(spec), lock, std::move(cancel), std::move(done)};
  {
    std::lock_guard guard(mutex_);
    reap_finished();
    if (!shut_down_ && running_.size() >= max_running_) return queue_.push_back(std::move(job));
    if (!shut_down_) {
      auto slot = running_.emplace(running_.end());
      *slot = std::jthread(
          [this, slot, job = std::move(job)]() mutable { work(std::move(job), slot); });
      return;
    }
  }
  job.done(not_run(kShuttingDown));
}

void CommandPool::work(Job job, std::list<std::jthread>::iterator self) {
  std::optional<Job> next(std::move(job));
  while (next) {
    execute(*next);
    next.reset();
    std::lock_guard guard(mutex_);
    if (!shut_down_ && !queue_.empty()) {
      next.emplace(std::move(queue_.front()));
      queue_.pop_front();
    } else {
      finished_.splice(finished_.end(), running_, self);
    }
  }
}

void CommandPool::execute(Job& job) {
  if (job.cancel.stop_requested()) return job.done(not_run(kCancelled));
  // Either the daemon's shutdown or the client going away ends the command.
  std::stop_source stop;
  const std::stop_callback on_shutdown(stop_.get_token(), [&stop] { stop.request_stop(); });
  const std::stop_callback on_cancel(job.cancel, [&stop] { stop.request_stop(); });
  std::unique_lock<std::mutex> repository;
  std::optional<RepositoryLock> whole_repository;
  // Held until the reply is out, so a git reply never trails the next git command. The
  // repository's own lock covers its other worktrees and their daemons too.
  if (job.lock == Lock::kRepository) {
    repository = std::unique_lock(repository_mutex_);
    whole_repository = RepositoryLock::acquire(job.spec.cwd.empty() ? "." : job.spec.cwd);
  }
  CommandResult result;
  if (stop.stop_requested()) {  // while it waited for the repository mutex
    result = not_run(job.cancel.stop_requested() ? kCancelled : kShuttingDown);
  } else {
    // An exception must not escape a pool thread (std::terminate would take the daemon down):
    // whatever run_command refuses is the client's error reply.
    try {
      result = runner_(job.spec, stop.get_token());
    } catch (const std::exception& e) {
      result = not_run(std::string("cannot run the command: ") + e.what());
    } catch (...) {
      result = not_run("cannot run the command");
    }
  }
  job.done(std::move(result));
}

CommandPool::Counts CommandPool::counts() const {
  std::lock_guard guard(mutex_);
  Counts c;
  c.running = running_.size();
  c.queued = static_cast<std::size_t>(std::count_if(
      queue_.begin(), queue_.end(), [](const Job& j) { return !j.cancel.stop_requested(); }));
  c.max_running = max_running_;
  return c;
}

void CommandPool::reap_finished() {
  for (std::jthread& t : finished_) {
    if (t.joinable()) t.join();  // shutdown() may already have joined it
  }
  finished_.clear();
}

void CommandPool::shutdown() {
  std::deque<Job> refused;
  {
    std::lock_guard guard(mutex_);
    if (shut_down_) return;
    shut_down_ = true;
    stop_.request_stop();
    refused.swap(queue_);
  }
  for (Job& job : refused) job.done(not_run(kShuttingDown));
  // Join outside the lock: each thread takes it once more to move itself to finished_.
  for (;;) {
    std::jthread next;
    {
      std::lock_guard guard(mutex_);
      reap_finished();
      if (running_.empty()) return;
      next = std::move(running_.front());  // the thread's list node stays; it splices it away
    }
    next.join();
  }
}

}  // namespace harness
