#include "web/state_cache.h"

#include "view/dag_view.h"
#include "view/status_json.h"
#include "view/status_view.h"

namespace harness {
namespace {

// The task lists of the view a page gets: what a person can read; the counts say the rest.
constexpr std::size_t kListLimit = 200;

}  // namespace

StateCache::StateCache(FetchWorkflow fetch, const EventHub& hub,
                       std::chrono::steady_clock::duration max_age, const Clock& clock)
    : fetch_(std::move(fetch)), hub_(hub), max_age_(max_age), clock_(clock) {}

StateCache::Body StateCache::body() {
  std::lock_guard lock(mu_);
  const std::uint64_t events = hub_.next();
  const auto now = std::chrono::steady_clock::now();
  if (!cached_ || events != cached_events_ || now - cached_at_ >= max_age_) {
    cached_ = make();
    cached_events_ = events;
    cached_at_ = now;
  }
  return *cached_;
}

StateCache::Body StateCache::make() {
  const Micros now = clock_.now();
  std::optional<Workflow> workflow;
  try {
    workflow = fetch_();
  } catch (const std::exception& e) {
    return Body{502, Json{{"error", e.what()}, {"now", format_iso8601(now)}}.dump()};
  }
  Json state{{"now", format_iso8601(now)}, {"status", nullptr}, {"dag", nullptr}};
  if (workflow) {
    const std::vector<TrajectoryEvent> events = hub_.recent_events();
    const StatusView view = compute_status_view(*workflow, events, now);
    state["status"] = status_view_to_json(view, kListLimit);
    state["dag"] = dag_to_json(*workflow, view.states);
  }
  return Body{200, state.dump(-1, ' ', false, Json::error_handler_t::replace)};
}

}  // namespace harness
