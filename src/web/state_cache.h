// The body of the dashboard's /api/state. Asking the daemon for a large plan takes long (the
// whole workflow comes over the socket), so a request never waits for it: one thread makes the
// body again whenever an event came since the last one (EventHub) or it is kMaxAge old (leases
// expire and backoffs end without an event), never two at once, and requests get the latest.
// Each new body is announced through the hub (EventHub::notify), so the event streams can
// tell their pages to fetch it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/clock.h"
#include "core/task.h"
#include "web/event_hub.h"

namespace harness {

class StateCache {
 public:
  // The daemon's workflow, nullopt when it has none. Throws (an unreachable daemon) as it may.
  using FetchWorkflow = std::function<std::optional<Workflow>()>;

  static constexpr auto kMaxAge = std::chrono::seconds(5);

  // Starts making bodies. `hub` and `clock` must outlive the cache.
  StateCache(FetchWorkflow fetch, EventHub& hub,
             std::chrono::steady_clock::duration max_age = kMaxAge,
             const Clock& clock = SystemClock::instance());
  // Stops making them (waits for the one being made).
  ~StateCache();
  StateCache(const StateCache&) = delete;
  StateCache& operator=(const StateCache&) = delete;

  struct Body {
    int http_status = 200;  // 502 when the daemon could not be asked
    std::string json;
  };

  // The latest body (waits for the first): {"now", "version", "status": status_view_to_json
  // (task lists bounded) or null without a workflow, "dag": dag_to_json or null}; or
  // {"error": message} with 502.
  Body body() const;

  // How many bodies were made so far.
  std::uint64_t version() const;

 private:
  void run(std::stop_token stop);
  Body make(std::uint64_t version);

  FetchWorkflow fetch_;
  EventHub& hub_;
  const std::chrono::steady_clock::duration max_age_;
  const Clock& clock_;
  mutable std::mutex mu_;
  mutable std::condition_variable made_;
  std::optional<Body> latest_;
  std::uint64_t version_ = 0;
  std::jthread maker_;  // last: it uses everything above
};

}  // namespace harness
