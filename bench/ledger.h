// Which worker acknowledged each task's completion, and how often: what a drain checks at the
// end, against its own count and against the daemon's state.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/json.h"
#include "core/task.h"

namespace harness::bench {

// The worker id a drain's worker number `index` claims as (unique to this process).
std::string worker_name(std::size_t index);

class Ledger {
 public:
  explicit Ledger(const Workflow& workflow);

  // Records that `worker` had the completion of `task_id` acknowledged. Safe to call from
  // several threads at once. Throws Error::io for a task the plan does not hold.
  void record(const std::string& task_id, std::size_t worker);

  // Throws Error::io listing the first tasks not acknowledged exactly once.
  void verify_acks(const Workflow& workflow) const;

  // Throws Error::io when the daemon's get_state disagrees: a task missing, not completed, or
  // completed by another worker than the one that was acknowledged.
  void verify_state(const Json& state) const;

 private:
  std::unordered_map<std::string, std::size_t> index_;
  std::vector<std::atomic<std::uint32_t>> acks_;
  std::vector<std::atomic<std::size_t>> by_;
};

}  // namespace harness::bench
