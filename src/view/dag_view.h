// The plan's DAG laid out for the web dashboard: tasks in columns by dependency depth, each
// column with its counts by state, and the tasks drawn one by one, all of them in a small
// plan, or in a large one only a bounded selection: what runs, failed or is blocked first.
#pragma once

#include <cstddef>
#include <vector>

#include "core/json.h"
#include "view/status_view.h"

namespace harness {

// The depth of each task of a validated workflow, in plan order: 0 without dependencies,
// else one more than its deepest dependency. O(tasks + dependencies), no recursion.
std::vector<std::size_t> dependency_depths(const Workflow& workflow);

struct DagOptions {
  // At most this many tasks drawn: up to it, every task with its dependencies; above it, the
  // running ones first, then up to a quarter of it each of failed, blocked and ready tasks,
  // then the others by state (backoff, waiting, completed), then whatever is left, in plan
  // order.
  std::size_t node_limit = 300;
};

// {"columns": [{"depth", "total", "counts": {STATE: n}}], "aggregated": bool (not every task is
// drawn), "node_limit", "nodes": [{"id", "description", "state", "depth", "dependencies" (those
// drawn too), and for a running task "worker_id", "attempt", "lease_expires_at"}]}, nodes
// by depth, then plan order. `states` is task_states(workflow, now) (or a StatusView's).
Json dag_to_json(const Workflow& workflow, const std::vector<TaskState>& states,
                 const DagOptions& options = {});

}  // namespace harness
