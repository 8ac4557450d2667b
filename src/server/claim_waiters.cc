#include "server/claim_waiters.h"

#include <algorithm>
#include <vector>

namespace harness {

ClaimWaiters::ClaimWaiters(const Clock& clock, Attempt attempt)
    : clock_(clock),
      attempt_(std::move(attempt)),
      timer_([this](std::stop_token stop) { run_timer(stop); }) {}

ClaimWaiters::~ClaimWaiters() { stop(); }

void ClaimWaiters::stop() {
  std::deque<Waiter> left;
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    stopped_ = true;
    left.swap(queue_);
    count_ = 0;
  }
  timer_.request_stop();
  changed_.notify_all();
  if (timer_.joinable()) timer_.join();
  for (Waiter& w : left) w.respond.fail("the daemon is shutting down");
}

void ClaimWaiters::claimed(Waiter waiter, bool woken, std::uint64_t epoch_seen,
                           ClaimResponse response, std::optional<Micros> deadline) {
  if (response.task) {
    waiter.respond(std::move(response));
    if (woken) {
      std::unique_lock lock(mutex_);
      attempt_next(lock);
    }
    return;
  }
  if (response.plan_complete) {
    waiter.respond(response);
    answer_all(response);
    return;
  }
  std::unique_lock lock(mutex_);
  if (stopped_) return waiter.respond.fail("the daemon is shutting down");
  if (woken) waking_ = false;
  if (std::chrono::steady_clock::now() >= waiter.deadline) {
    lock.unlock();
    return waiter.respond(std::move(response));
  }
  if (epoch_.load() != epoch_seen) {  // work may have come since the claim looked
    if (woken) waking_ = true;
    lock.unlock();
    return attempt_(std::move(waiter), woken);
  }
  const bool watch = waiter.id == 0;
  if (watch) waiter.id = next_id_++;
  const std::uint64_t id = waiter.id;
  const std::stop_token cancelled = waiter.cancelled;
  if (woken)
    queue_.push_front(std::move(waiter));
  else
    queue_.push_back(std::move(waiter));
  count_ = queue_.size();
  if (deadline) set_wake_time(*deadline);
  ++changes_;
  changed_.notify_all();
  lock.unlock();
  // Outside the lock: a client already gone runs the callback here and now.
  if (watch && cancelled.stop_possible()) {
    auto on_cancel = std::make_shared<std::stop_callback<std::function<void()>>>(
        cancelled, std::function<void()>([this, id] { drop(id); }));
    std::lock_guard relock(mutex_);
    for (Waiter& w : queue_)
      if (w.id == id) w.on_cancel = std::move(on_cancel);
  }
}

void ClaimWaiters::drop(std::uint64_t id) {
  std::optional<Waiter> gone;
  {
    std::lock_guard lock(mutex_);
    for (auto it = queue_.begin(); it != queue_.end(); ++it) {
      if (it->id != id) continue;
      gone = std::move(*it);
      queue_.erase(it);
      count_ = queue_.size();
      break;
    }
  }
  if (gone) gone->respond.fail("the client went away");
}

void ClaimWaiters::wake() {
  if (count_.load() == 0) return;
  std::unique_lock lock(mutex_);
  if (waking_ || stopped_) return;
  attempt_next(lock);
}

void ClaimWaiters::wake_at(Micros when) {
  if (count_.load() == 0) return;
  std::lock_guard lock(mutex_);
  set_wake_time(when);
}

void ClaimWaiters::set_wake_time(Micros when) {
  if (wake_time_ && *wake_time_ <= when) return;
  wake_time_ = when;
  ++changes_;
  changed_.notify_all();
}

std::size_t ClaimWaiters::waiting() const { return count_.load(); }

// Takes the oldest waiter whose client is still there and tries its claim; none: the wake-up
// is over.
void ClaimWaiters::attempt_next(std::unique_lock<std::mutex>& lock) {
  while (!queue_.empty()) {
    Waiter w = std::move(queue_.front());
    queue_.pop_front();
    count_ = queue_.size();
    if (w.cancelled.stop_requested()) {  // nobody reads the reply
      lock.unlock();
      w.respond.fail("the client went away");
      lock.lock();
      continue;
    }
    waking_ = true;
    lock.unlock();
    attempt_(std::move(w), true);
    return;
  }
  waking_ = false;
}

void ClaimWaiters::answer_all(const ClaimResponse& response) {
  std::deque<Waiter> all;
  {
    std::lock_guard lock(mutex_);
    all.swap(queue_);
    count_ = 0;
    waking_ = false;
  }
  for (Waiter& w : all) w.respond(response);
}

void ClaimWaiters::run_timer(std::stop_token stop) {
  using std::chrono::steady_clock;
  std::unique_lock lock(mutex_);
  while (!stop.stop_requested()) {
    const steady_clock::time_point now = steady_clock::now();
    std::optional<steady_clock::time_point> next;
    const auto consider = [&](steady_clock::time_point t) { next = next ? std::min(*next, t) : t; };
    for (const Waiter& w : queue_) consider(w.deadline);
    if (wake_time_)
      consider(now + std::chrono::microseconds(std::max<Micros>(0, *wake_time_ - clock_.now())));
    const std::uint64_t seen = changes_;
    const auto changed = [&] { return changes_ != seen; };
    if (!next) {
      changed_.wait(lock, stop, changed);
      continue;
    }
    if (now < *next) {
      changed_.wait_until(lock, stop, *next, changed);
      continue;
    }
    // Due: answer the waits that passed, then wake for the store's deadline.
    std::vector<Waiter> expired;
    for (auto it = queue_.begin(); it != queue_.end();) {
      if (it->deadline <= now) {
        expired.push_back(std::move(*it));
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
    count_ = queue_.size();
    const bool store_due = wake_time_ && *wake_time_ <= clock_.now();
    if (store_due) wake_time_.reset();
    lock.unlock();
    for (Waiter& w : expired) w.respond(ClaimResponse{});
    lock.lock();
    if (store_due && !waking_ && !stopped_) {
      attempt_next(lock);  // unlocks when it takes a waiter
      if (!lock.owns_lock()) lock.lock();
    }
  }
}

}  // namespace harness
