// Runs exec and git requests on threads of their own, so that a ten-minute command never
// delays a claim (docs/protocol.md, "exec and git"). At most `max_running` commands run at once;
// the rest wait in a queue and start in the order they came. git requests, and exec requests marked
// exclusive, hold the repository mutex while they run, and the lock of the repository their cwd
// is in (exec/repository_lock.h: shared with its other worktrees and their daemons), so parallel
// agents never collide on .git/index.lock.
//
// A command is cancelled (its process group killed, as on a timeout) when its caller's
// `cancel` token is stopped — the client went away — and a queued one is then never started.
// On shutdown, running commands are cancelled and joined, and queued ones are refused.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <list>
#include <mutex>
#include <stop_token>
#include <thread>

#include "exec/subprocess.h"

namespace harness {

class CommandPool {
 public:
  enum class Lock { kNone, kRepository };
  // Gets the result to keep: a command's output is moved on, not copied.
  using Done = std::function<void(CommandResult)>;
  // What runs a command: run_command, or a stand-in that runs nothing (the service fuzzer).
  using Runner = std::function<CommandResult(const CommandSpec&, std::stop_token)>;

  struct Counts {
    std::size_t running = 0;
    std::size_t queued = 0;
    std::size_t max_running = 0;
  };

  // `max_running` is at least 1; an empty `runner` means run_command.
  explicit CommandPool(std::size_t max_running = 64, Runner runner = {});
  ~CommandPool();  // shutdown()

  // Runs `spec` on a thread of its own, or queues it while `max_running` commands run.
  // `done` is called exactly once, on the command's thread, with the result; it must not throw.
  // A command that is refused (shutdown() was called), cancelled before it started, or whose
  // run failed with an exception (e.g. an argument the OS cannot take) gets a result with
  // returncode 127 and the reason on stderr, "harness: ...". A command cancelled while running
  // is reported like one that was killed.
  void run(CommandSpec spec, Lock lock, std::stop_token cancel, Done done);
  void run(CommandSpec spec, Lock lock, Done done) {
    run(std::move(spec), lock, {}, std::move(done));
  }

  // Commands running and queued now (queued ones already cancelled are not counted).
  Counts counts() const;

  // Refuses queued commands, cancels every running one and waits for their threads.
  void shutdown();

 private:
  struct Job {
    CommandSpec spec;
    Lock lock;
    std::stop_token cancel;
    Done done;
  };

  // Runs `job`, then the jobs it takes from the queue, on the pool thread `self`.
  void work(Job job, std::list<std::jthread>::iterator self);
  // Runs one job and reports it; never throws.
  void execute(Job& job);
  void reap_finished();  // joins threads that have finished; caller holds mutex_

  const std::size_t max_running_;
  const Runner runner_;
  std::mutex repository_mutex_;
  mutable std::mutex mutex_;
  std::stop_source stop_;
  bool shut_down_ = false;
  std::deque<Job> queue_;
  std::list<std::jthread> running_;
  std::list<std::jthread> finished_;  // moved here by the thread itself, joined later
};

}  // namespace harness
