#include "server/command_pool.h"

namespace harness {

CommandPool::~CommandPool() { shutdown(); }

void CommandPool::run(CommandSpec spec, Lock lock, Done done) {
  std::lock_guard guard(threads_mutex_);
  reap_finished();
  if (shut_down_) {
    CommandResult refused;
    refused.returncode = 127;
    refused.stderr_text = "harness: the daemon is shutting down";
    done(refused);
    return;
  }
  auto slot = running_.emplace(running_.end());
  *slot = std::jthread(
      [this, slot, spec = std::move(spec), lock, done = std::move(done), stop = stop_.get_token()] {
        {
          std::unique_lock<std::mutex> repository;
          if (lock == Lock::kRepository) repository = std::unique_lock(repository_mutex_);
          done(run_command(spec, stop));
        }
        std::lock_guard guard(threads_mutex_);
        finished_.splice(finished_.end(), running_, slot);
      });
}

void CommandPool::reap_finished() {
  for (std::jthread& t : finished_) {
    if (t.joinable()) t.join();  // shutdown() may already have joined it
  }
  finished_.clear();
}

void CommandPool::shutdown() {
  {
    std::lock_guard guard(threads_mutex_);
    if (shut_down_) return;
    shut_down_ = true;
    stop_.request_stop();
  }
  // Join outside the lock: each thread takes it once more to move itself to finished_.
  for (;;) {
    std::jthread next;
    {
      std::lock_guard guard(threads_mutex_);
      reap_finished();
      if (running_.empty()) return;
      next = std::move(running_.front());  // the thread's list node stays; it splices it away
    }
    next.join();
  }
}

}  // namespace harness
