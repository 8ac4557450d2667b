// A drain's workers and what they share, apart from how their requests travel. A worker is a
// small state machine — claim; complete what the claim got; back off when nothing was ready —
// that a driver (drain_drivers.h) feeds with replies.
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

namespace harness::bench {

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
  DrainWorker(DrainRun& run, std::size_t index);

  const std::string& name() const { return name_; }

  // The request line (no newline) to send next: a claim, or the completion of the task the
  // last claim got.
  const std::string& request() const { return request_; }

  // Handles the reply to request(), which took `elapsed` from sending it to reading the reply,
  // and returns how long to wait before sending the next request (zero: at once). Throws
  // Error::conflict when the reply is an error envelope, Error::io when it shows a completion
  // or a lease lost (a task handed out again), or a task the plan does not hold.
  std::chrono::microseconds on_reply(std::string_view reply, Nanos elapsed);

  std::vector<Nanos> claim_ns, complete_ns;
  std::size_t empty_claims = 0;  // claims answered with task null

 private:
  std::chrono::microseconds on_claim_reply(std::string_view reply);
  void on_complete_reply(std::string_view reply);

  DrainRun& run_;
  std::size_t index_;
  std::string name_;
  std::string claim_line_;          // written once: what the CLI would send
  std::string complete_line_tail_;  // after the task id
  std::string request_;
  std::string task_;  // being completed; empty while claiming
  std::chrono::microseconds backoff_;
};

}  // namespace harness::bench
