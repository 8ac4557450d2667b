// One event of the trajectory (log/trajectory_writer.h) as the views read it: its time, kind,
// task and worker, a short human summary of the rest, and the line as written.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/json.h"

namespace harness {

struct TrajectoryEvent {
  Micros ts = 0;
  std::string kind;       // "claim", "complete", "fail", "exec", ...
  std::string task_id;    // empty when the event names no task
  std::string worker_id;  // empty when the event names no worker
  // The fields beyond ts, event, task_id and worker_id as a short human phrase, on one line:
  // "attempt 2, reclaim", "attempt 3, failed: out of memory", "exit 1 in 120 ms: make test".
  std::string detail;
  std::string line;  // the raw line, without its '\n'
};

// The event on `line`, or nullopt when it is not a JSON object with a valid "ts" and a string
// "event" (a torn or foreign line: readers skip those).
std::optional<TrajectoryEvent> parse_trajectory_event(std::string_view line);

// Whether the event replaces or removes the whole plan (import, update_state, plan_reset):
// what came before it belongs to another plan.
bool starts_a_new_plan(const TrajectoryEvent& event);

}  // namespace harness
