// Which trajectory events `harness log` prints (--task, --worker, --event, --since).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "view/trajectory_event.h"

namespace harness {

// An event matches when each criterion that is set holds: its task is one of `task_ids`, its
// worker one of `worker_ids`, its kind one of `kinds`, and it happened at or after `since`.
struct EventFilter {
  std::vector<std::string> task_ids;
  std::vector<std::string> worker_ids;
  std::vector<std::string> kinds;
  std::optional<Micros> since;

  bool empty() const { return task_ids.empty() && worker_ids.empty() && kinds.empty() && !since; }
  bool matches(const TrajectoryEvent& event) const;
};

// The instant --since names, relative to `now`: a duration back from now ("90s", "10m", "2h",
// "1d", "1h30m"), or a time as ISO-8601 ("2026-12-07T10:00:00Z", a fraction and zone
// optional, a space for 'T' allowed; no zone means UTC) or a date alone ("2026-12-07", its
// midnight UTC). Throws Error::invalid naming the text and the forms accepted.
Micros parse_since(std::string_view text, Micros now);

}  // namespace harness
