// Runs exec and git requests, each on its own thread, so that a ten-minute command never
// delays a claim (DESIGN §5). git requests, and exec requests marked exclusive, hold the
// repository mutex while they run, so parallel agents never collide on .git/index.lock.
// On shutdown, running commands are cancelled (their process groups are killed) and joined.
#pragma once

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
  using Done = std::function<void(const CommandResult&)>;

  CommandPool() = default;
  ~CommandPool();  // shutdown()

  // Starts `spec` on a new thread; `done` is called on that thread with the result.
  // `done` must not throw. After shutdown() the command is not run and `done` gets a
  // result with returncode 127 and a message on stderr.
  void run(CommandSpec spec, Lock lock, Done done);

  // Cancels every running command and waits for their threads.
  void shutdown();

 private:
  void reap_finished();  // joins threads that have finished; caller holds threads_mutex_

  std::mutex repository_mutex_;
  std::mutex threads_mutex_;
  std::stop_source stop_;
  bool shut_down_ = false;
  std::list<std::jthread> running_;
  std::list<std::jthread> finished_;  // moved here by the thread itself, joined later
};

}  // namespace harness
