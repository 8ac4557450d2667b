#include "web/event_hub.h"

#include <algorithm>

#include "log/trajectory_reader.h"
#include "view/status_view.h"

namespace harness {

EventHub::EventHub(std::filesystem::path trajectory) {
  const std::uint64_t from = file_size_or_zero(trajectory);
  for (const std::string& line : read_last_lines(trajectory, kViewEventLines))
    if (auto event = parse_trajectory_event(line)) events_.push_back(std::move(*event));
  follower_ = std::jthread([this, trajectory = std::move(trajectory), from](std::stop_token stop) {
    follow_lines(
        trajectory, from,
        [this](std::string_view line) {
          add(line);
          return true;
        },
        stop);
  });
}

EventHub::~EventHub() { close(); }

void EventHub::add(std::string_view line) {
  {
    std::lock_guard lock(mu_);
    lines_.emplace_back(line);
    ++next_;
    if (lines_.size() > kKeptLines) lines_.pop_front();
    if (auto event = parse_trajectory_event(line)) {
      events_.push_back(std::move(*event));
      if (events_.size() > kViewEventLines) events_.pop_front();
    }
  }
  added_.notify_all();
}

EventHub::Batch EventHub::wait(std::uint64_t from,
                               std::chrono::steady_clock::duration timeout) const {
  std::unique_lock lock(mu_);
  const std::uint64_t notified = notified_;
  added_.wait_for(lock, timeout, [&] { return closed_ || next_ > from || notified_ != notified; });
  Batch batch;
  batch.next = next_;
  batch.closed = closed_;
  const std::uint64_t oldest = next_ - lines_.size();
  for (std::uint64_t n = std::max(from, oldest); n < next_; ++n)
    batch.lines.push_back(lines_[static_cast<std::size_t>(n - oldest)]);
  return batch;
}

std::uint64_t EventHub::next() const {
  std::lock_guard lock(mu_);
  return next_;
}

std::vector<TrajectoryEvent> EventHub::recent_events() const {
  std::lock_guard lock(mu_);
  return {events_.begin(), events_.end()};
}

void EventHub::notify() {
  {
    std::lock_guard lock(mu_);
    ++notified_;
  }
  added_.notify_all();
}

void EventHub::close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  added_.notify_all();
  follower_.request_stop();
}

}  // namespace harness
