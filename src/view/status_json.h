// The StatusView as JSON: `harness status --json` and the web dashboard's /api/state.
#pragma once

#include <cstddef>
#include <limits>

#include "core/json.h"
#include "view/status_view.h"

namespace harness {

// Top-level counts: "pending", "running", "completed", "failed", "total" (the tasks by stored
// status, as `status --json` always gave them) and "ready", "waiting", "backoff", "blocked"
// (what the pending ones are); then "progress" (completed / total), "goal", "now", "running_tasks"
// [{id, description, worker_id, attempt, max_attempts, started_at, lease_expires_at,
// lease_seconds_left}], "failed_tasks" [{id, description, attempts, max_attempts,
// last_error, blocks}], "blocked_tasks" [{id, description, blocked_by}], "throughput"
// {window_seconds, span_seconds, completed, per_minute, remaining, eta_seconds (null when
// unknown)}, "recent_events" (the events as written), "workers" [{worker_id, holding,
// last_seen, last_event, completed}]. Each task list holds at most `list_limit` entries; its
// full length is in the counts.
Json status_view_to_json(const StatusView& view,
                         std::size_t list_limit = std::numeric_limits<std::size_t>::max());

}  // namespace harness
