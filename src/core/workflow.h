// Graph rules for a workflow (docs/architecture.md, "Claims and leases"): every write validates the
// whole DAG first.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/task.h"

namespace harness {

// Throws Error::invalid, writing nothing, when the workflow is not a valid plan:
//   - two tasks share an id: "Duplicate task id: a"
//   - a dependency names no task: "Missing dependency: ghost (required by a)"
//   - a running task has no owner: "Task a is running but has no owner (claimed_by)"
//   - the graph has a cycle, self-dependencies included:
//     "Cycle detected at task-1: task-1 -> task-2 -> task-1"
// Runs in O(tasks + dependencies) without recursion, so 100,000-task chains are fine.
void validate_workflow(const Workflow& workflow);

// For each task (in plan order), the number of distinct dependencies that are not completed.
// A task is ready when it is pending and its count is zero. Requires a validated workflow.
std::vector<std::int64_t> unmet_dependency_counts(const Workflow& workflow);

// Number of tasks per status, whether any task is unfinished (pending or running), and whether
// the plan can still move: `ready` counts the pending tasks whose dependencies are all
// completed. Unfinished work that cannot move waits on failed tasks: nothing runs until one of
// them is retried.
struct StatusCounts {
  std::int64_t pending = 0, running = 0, completed = 0, failed = 0;
  std::int64_t ready = 0;  // of `pending`

  // Counts `n` more tasks of `status`.
  void add(TaskStatus status, std::int64_t n = 1);
  std::int64_t total() const { return pending + running + completed + failed; }
  bool unfinished() const { return pending + running > 0; }
  bool can_progress() const { return running + ready > 0; }
};

// Requires a validated workflow (for `ready`).
StatusCounts count_statuses(const Workflow& workflow);

// Which failed tasks each unfinished task waits on, directly or through other unfinished
// tasks (DESIGN §2b, "blocked_by"): such a task is never handed out until they are retried.
// Built once per workflow in O(tasks + dependencies + the lists it returns). Requires a
// validated workflow.
class BlockedBy {
 public:
  explicit BlockedBy(const Workflow& workflow);
  // The ids of the failed tasks `task` (of the workflow) waits on, in plan order; empty when
  // it is not blocked (completed, running and failed tasks never are).
  std::vector<std::string> of(const Task& task) const;

 private:
  const Workflow& workflow_;
  std::unordered_map<std::string_view, std::size_t> index_;
  std::vector<std::vector<std::size_t>> blockers_;  // per task, sorted indices of failed tasks
};

}  // namespace harness
