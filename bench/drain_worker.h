// A drain's workers and what they share, apart from how their requests travel. A worker is a
// small state machine — claim; complete what the claim got; back off when nothing was ready —
// that a driver (drain_drivers.h) feeds with replies. With RequestMode::kNext a completion
// also claims the next task (task_complete with "next", fenced by the lease the worker holds),
// so that a worker that keeps getting tasks sends one request per task.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "latency.h"
#include "ledger.h"
#include "reply_summary.h"

namespace harness::bench {

// How a worker goes from one task to the next.
enum class RequestMode {
  kPairs,  // task_claim, then task_complete: two round trips per task
  kNext,   // task_complete with "next" and the lease: one round trip per task
};

const char* to_string(RequestMode mode);

// What the workers of one drain share.
struct DrainRun {
  using Clock = std::chrono::steady_clock;

  DrainRun(const Workflow& workflow, std::chrono::seconds timeout);

  // Records the first failure and stops every worker.
  void fail(const std::string& message);

  // True once every task is completed or a worker failed.
  bool over() const { return stop || completed >= tasks; }

  // Throws Error::io once `deadline` has passed.
  void check_deadline() const;

  const std::size_t tasks;
  const std::chrono::seconds timeout;
  Ledger ledger;
  Clock::time_point deadline = Clock::time_point::max();  // set by the driver at release
  std::atomic<std::size_t> completed{0};
  std::atomic<bool> stop{false};
  Clock::time_point finished_at;  // written once, by the last completion

  std::mutex mutex;
  std::string failure;  // the first one, under `mutex`
};

class DrainWorker {
 public:
  DrainWorker(DrainRun& run, std::size_t index, RequestMode mode = RequestMode::kPairs);

  const std::string& name() const { return name_; }

  // The request line (no newline) to send next: a claim, or the completion of the task the
  // last claim got.
  const std::string& request() const { return request_; }

  // True once a reply said the plan is complete and gave no task: the worker sends no more.
  bool finished() const { return finished_; }

  // Handles the reply to request(), which took `elapsed` from sending it to reading the reply,
  // and returns how long to wait before sending the next request (zero: at once). Throws
  // Error::conflict when the reply is an error envelope, Error::io when it shows a completion
  // or a lease lost (a task handed out again), or a task the plan does not hold.
  std::chrono::microseconds on_reply(std::string_view reply, Nanos elapsed);

  // Round trips: task_claim's, and task_complete's (with "next" in RequestMode::kNext).
  std::vector<Nanos> claim_ns, complete_ns;
  std::size_t empty_claims = 0;  // claims answered with task null, "next" ones included

 private:
  std::chrono::microseconds on_claim_reply(std::string_view reply);
  std::chrono::microseconds on_complete_reply(std::string_view reply);
  // Takes the claim `reply` summarizes: the task to complete next, or a wait before claiming
  // again when it got none.
  std::chrono::microseconds take(ReplySummary reply);

  DrainRun& run_;
  std::size_t index_;
  RequestMode mode_;
  std::string name_;
  std::string claim_line_;          // written once: what the CLI would send
  std::string complete_line_tail_;  // after the task id (and lease)
  std::string request_;
  std::string task_;  // being completed; empty while claiming
  std::chrono::microseconds backoff_;
  bool finished_ = false;
};

}  // namespace harness::bench
