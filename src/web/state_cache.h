// The body of the dashboard's /api/state, made at most once per change: a page asks for it on
// every event, and with many pages open or a busy fleet they ask together. It is made again
// only when an event came since (EventHub), or when it is older than kMaxAge (leases expire
// and backoffs end without an event).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "core/clock.h"
#include "core/task.h"
#include "web/event_hub.h"

namespace harness {

class StateCache {
 public:
  // The daemon's workflow, nullopt when it has none. Throws (an unreachable daemon) as it may.
  using FetchWorkflow = std::function<std::optional<Workflow>()>;

  static constexpr auto kMaxAge = std::chrono::seconds(2);

  // `hub` and `clock` must outlive the cache. A body is made again when older than `max_age`.
  StateCache(FetchWorkflow fetch, const EventHub& hub,
             std::chrono::steady_clock::duration max_age = kMaxAge,
             const Clock& clock = SystemClock::instance());

  struct Body {
    int http_status = 200;  // 502 when the daemon could not be asked
    std::string json;
  };

  // {"now", "status": status_view_to_json (task lists bounded) or null without a workflow,
  // "dag": dag_to_json or null}; or {"error": message} with 502. Callers at the same time
  // share one fetch.
  Body body();

 private:
  Body make();

  FetchWorkflow fetch_;
  const EventHub& hub_;
  const std::chrono::steady_clock::duration max_age_;
  const Clock& clock_;
  std::mutex mu_;
  std::optional<Body> cached_;
  std::uint64_t cached_events_ = 0;  // hub_.next() when cached_ was made
  std::chrono::steady_clock::time_point cached_at_;
};

}  // namespace harness
