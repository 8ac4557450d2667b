#include "view/status_json.h"

#include <cmath>

namespace harness {
namespace {

Json time_or_null(const std::optional<Micros>& t) {
  return t ? Json(format_iso8601(*t)) : Json(nullptr);
}

double seconds(Micros t) { return static_cast<double>(t) / kMicrosPerSecond; }

// Up to `limit` entries of `items`, each as `to_json` makes it.
template <typename T, typename F>
Json bounded(const std::vector<T>& items, std::size_t limit, F to_json) {
  Json list = Json::array();
  for (std::size_t i = 0; i < items.size() && i < limit; ++i) list.push_back(to_json(items[i]));
  return list;
}

Json running_json(const RunningTaskView& r, Micros now) {
  Json left =
      r.lease_expires_at ? Json(std::floor(seconds(*r.lease_expires_at - now))) : Json(nullptr);
  return Json{{"id", r.id},
              {"description", r.description},
              {"worker_id", r.worker_id},
              {"attempt", r.attempt},
              {"max_attempts", r.max_attempts},
              {"started_at", time_or_null(r.started_at)},
              {"lease_expires_at", time_or_null(r.lease_expires_at)},
              {"lease_seconds_left", left},
              {"worktree", r.worktree ? Json(*r.worktree) : Json(nullptr)}};
}

Json throughput_json(const Throughput& t) {
  return Json{{"window_seconds", seconds(t.window)},
              {"span_seconds", seconds(t.span)},
              {"completed", t.completed},
              {"per_minute", std::round(t.per_minute * 100) / 100},
              {"remaining", t.remaining},
              {"eta_seconds", t.eta ? Json(std::ceil(seconds(*t.eta))) : Json(nullptr)}};
}

// The line was read by parse_trajectory_event, so it parses.
Json event_json(const TrajectoryEvent& e) { return parse_json(e.line); }

}  // namespace

Json status_view_to_json(const StatusView& view, std::size_t list_limit) {
  const StateCounts& c = view.counts;
  Json j{{"pending", c.pending()}, {"running", c.running}, {"completed", c.completed},
         {"failed", c.failed},     {"total", c.total()},   {"ready", c.ready},
         {"waiting", c.waiting},   {"backoff", c.backoff}, {"blocked", c.blocked}};
  j["progress"] = c.total() ? static_cast<double>(c.completed) / c.total() : 1.0;
  j["goal"] = view.goal ? Json(*view.goal) : Json(nullptr);
  j["now"] = format_iso8601(view.now);
  j["running_tasks"] =
      bounded(view.running, list_limit, [&](const auto& r) { return running_json(r, view.now); });
  j["failed_tasks"] = bounded(view.failed, list_limit, [](const FailedTaskView& f) {
    return Json{{"id", f.id},
                {"description", f.description},
                {"attempts", f.attempts},
                {"max_attempts", f.max_attempts},
                {"last_error", f.last_error},
                {"blocks", f.blocks}};
  });
  j["blocked_tasks"] = bounded(view.blocked, list_limit, [](const BlockedTaskView& b) {
    return Json{{"id", b.id}, {"description", b.description}, {"blocked_by", b.blocked_by}};
  });
  j["throughput"] = throughput_json(view.throughput);
  j["recent_events"] = bounded(view.recent, view.recent.size(), event_json);
  j["workers"] = bounded(view.workers, list_limit, [](const WorkerView& w) {
    return Json{{"worker_id", w.worker_id},
                {"holding", w.holding},
                {"last_seen", time_or_null(w.last_seen)},
                {"last_event", w.last_event},
                {"completed", w.completed}};
  });
  return j;
}

}  // namespace harness
