#include "web/state_cache.h"

#include "view/dag_view.h"
#include "view/status_json.h"
#include "view/status_view.h"

namespace harness {
namespace {

// The task lists of the view a page gets: what a person can read; the counts say the rest.
constexpr std::size_t kListLimit = 200;

}  // namespace

StateCache::StateCache(FetchWorkflow fetch, EventHub& hub,
                       std::chrono::steady_clock::duration max_age, const Clock& clock)
    : fetch_(std::move(fetch)),
      hub_(hub),
      max_age_(max_age),
      clock_(clock),
      maker_([this](std::stop_token stop) { run(stop); }) {}

StateCache::~StateCache() {
  maker_.request_stop();
  hub_.notify();  // wakes the maker's wait
}

StateCache::Body StateCache::body() const {
  std::unique_lock lock(mu_);
  made_.wait(lock, [&] { return latest_.has_value(); });
  return *latest_;
}

std::uint64_t StateCache::version() const {
  std::lock_guard lock(mu_);
  return version_;
}

void StateCache::run(std::stop_token stop) {
  while (!stop.stop_requested()) {
    const std::uint64_t seen = hub_.next();
    Body body = make(version() + 1);
    {
      std::lock_guard lock(mu_);
      latest_ = std::move(body);
      ++version_;
    }
    made_.notify_all();
    hub_.notify();
    if (hub_.wait(seen, max_age_).closed) break;
  }
}

StateCache::Body StateCache::make(std::uint64_t version) {
  const Micros now = clock_.now();
  std::optional<Workflow> workflow;
  try {
    workflow = fetch_();
  } catch (const std::exception& e) {
    return Body{502, Json{{"error", e.what()}, {"now", format_iso8601(now)}}.dump()};
  }
  Json state{
      {"now", format_iso8601(now)}, {"version", version}, {"status", nullptr}, {"dag", nullptr}};
  if (workflow) {
    const std::vector<TrajectoryEvent> events = hub_.recent_events();
    const StatusView view = compute_status_view(*workflow, events, now);
    state["status"] = status_view_to_json(view, kListLimit);
    state["dag"] = dag_to_json(*workflow, view.states);
  }
  return Body{200, state.dump(-1, ' ', false, Json::error_handler_t::replace)};
}

}  // namespace harness
