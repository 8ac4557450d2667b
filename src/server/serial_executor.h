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
  ~SerialExecutor();  // runs what is queued, then joins

  // `task` must not throw.
  void post(std::function<void()> task);

 private:
  void loop();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace harness
