// One thread that runs posted closures in order. The daemon's reads (get_state, status) run
// on one, with their own read-only database connection, so they neither block the I/O
// thread nor wait behind the writer's commits (WAL readers do not block on writers).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace harness {

class SerialExecutor {
 public:
  SerialExecutor();
  ~SerialExecutor();  // stop()

  // `task` must not throw. After stop() has returned, runs `task` on the caller's thread, so
  // that a task is never lost (each may hold a reply that must be sent).
  void post(std::function<void()> task);

  // Runs what is queued (and what those tasks post meanwhile), then joins the thread. Idempotent.
  void stop();

 private:
  void loop();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  bool stopped_ = false;  // the thread is gone: post() runs tasks itself
  std::thread thread_;
};

}  // namespace harness
