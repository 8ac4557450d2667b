// Claims that wait for work (task_claim with `wait`, DESIGN §2b). A waiting claim holds no
// thread: it is a parked reply. When a write may have made work ready, the oldest waiter's
// claim is tried again; when it gets a task, the next one is tried, and so on until a claim
// finds nothing, so each newly ready task wakes one waiter and nobody else is disturbed. A
// waiter whose wait passes is answered with no task; when the plan is complete, everyone is.
//
// Lost wake-ups are ruled out by an epoch: a write that may make work ready bumps it where it
// runs (ordered with the claims by the group committer), a claim records it where it runs,
// and a claim that found nothing is parked only if no such write ran since; otherwise it is
// tried again at once.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <thread>

#include "core/clock.h"
#include "protocol/commands.h"
#include "server/service.h"

namespace harness {

class ClaimWaiters {
 public:
  struct Waiter {
    ClaimRequest request;
    std::chrono::steady_clock::time_point deadline;
    Responder<ClaimResponse> respond;
    std::stop_token cancelled;  // the client went away: dropped at once, never given a task
    std::uint64_t id = 0;       // set when first parked
    std::shared_ptr<std::stop_callback<std::function<void()>>> on_cancel;
  };
  // Runs a claim for `waiter` and reports it with claimed(); `woken` says whether it was
  // taken from the queue (a wake-up) rather than arriving.
  using Attempt = std::function<void(Waiter waiter, bool woken)>;

  // `clock` tells the time of store deadlines (lease expiries, backoffs), which are Micros.
  ClaimWaiters(const Clock& clock, Attempt attempt);
  // stop().
  ~ClaimWaiters();
  // Answers every waiter with an error ("the daemon is shutting down") and ends the timer.
  void stop();

  // Read where a claim runs, and bumped where a write that may make work ready runs.
  std::uint64_t epoch() const { return epoch_.load(); }
  void bump_epoch() { ++epoch_; }

  // What a claim for a waiter found, `epoch_seen` being epoch() where it ran: a task (replied
  // to, and the next waiter is tried), the plan complete (everyone is answered), or nothing
  // (the waiter is parked: first in line if it was woken, else last; the waiters are woken at
  // `deadline`, the store's next deadline, if there is one).
  void claimed(Waiter waiter, bool woken, std::uint64_t epoch_seen, ClaimResponse response,
               std::optional<Micros> deadline);
  // Work may be ready: try the oldest waiter, unless a wake-up is already under way.
  void wake();
  // A time at which work may become ready without a write (a lease expiring, a backoff
  // ending): the waiters are woken then.
  void wake_at(Micros when);

  std::size_t waiting() const;

 private:
  void attempt_next(std::unique_lock<std::mutex>& lock);
  // Drops parked waiter `id` whose client went away.
  void drop(std::uint64_t id);
  void run_timer(std::stop_token stop);
  void set_wake_time(Micros when);  // under mutex_
  void answer_all(const ClaimResponse& response);

  const Clock& clock_;
  Attempt attempt_;
  std::atomic<std::uint64_t> epoch_{0};
  mutable std::mutex mutex_;
  std::condition_variable_any changed_;
  std::deque<Waiter> queue_;
  std::atomic<std::size_t> count_{0};  // queue_.size(), read without the lock on the hot path
  bool waking_ = false;                // a woken waiter's claim is under way
  std::optional<Micros> wake_time_;
  bool stopped_ = false;
  std::uint64_t changes_ = 0;  // what the timer sleeps on changed
  std::uint64_t next_id_ = 1;
  std::jthread timer_;
};

}  // namespace harness
