// The trajectory as the dashboard serves it: one thread follows the file (log/trajectory_reader.h)
// and keeps its last lines, numbered, for every server-sent-events client and for the status
// view, which is computed over the last events.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "view/trajectory_event.h"

namespace harness {

class EventHub {
 public:
  // Reads the last kViewEventLines events of `trajectory` and follows it from its end; lines
  // written from now on are numbered from 0. Throws Error when the file cannot be read.
  explicit EventHub(std::filesystem::path trajectory);
  // Stops following (close()) and joins the follower.
  ~EventHub();
  EventHub(const EventHub&) = delete;
  EventHub& operator=(const EventHub&) = delete;

  struct Batch {
    std::vector<std::string> lines;  // the lines numbered from `from` (or the oldest kept) on
    std::uint64_t next = 0;          // the number of the line after them
    bool closed = false;             // close() was called: no more will come
  };

  // The lines numbered `from` or later, waiting up to `timeout` for the first one, or for a
  // notify() after the call. A client too far behind gets what is still kept (the last
  // kKeptLines).
  Batch wait(std::uint64_t from, std::chrono::steady_clock::duration timeout) const;

  // Wakes every wait() as a new line would (the state cache says a new state is ready).
  void notify();

  // The number the next line will get: a new client starts there.
  std::uint64_t next() const;

  // The last kViewEventLines events (those read at start, then those followed), oldest first.
  std::vector<TrajectoryEvent> recent_events() const;

  // Wakes every wait() and stops following.
  void close();

  static constexpr std::size_t kKeptLines = 1000;

 private:
  void add(std::string_view line);

  mutable std::mutex mu_;
  mutable std::condition_variable added_;
  std::deque<std::string> lines_;  // the last lines, the newest at the back
  std::uint64_t next_ = 0;         // number of the line after lines_.back()
  std::uint64_t notified_ = 0;     // calls of notify()
  std::deque<TrajectoryEvent> events_;
  bool closed_ = false;
  std::jthread follower_;  // last: it uses everything above
};

}  // namespace harness
