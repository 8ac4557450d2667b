#include "view/status_view.h"

#include <algorithm>
#include <map>
#include <unordered_map>

#include "core/workflow.h"

namespace harness {
namespace {

TaskState state_of(const Task& task, std::int64_t unmet, bool blocked, Micros now) {
  switch (task.status) {
    case TaskStatus::kRunning:
      return TaskState::kRunning;
    case TaskStatus::kCompleted:
      return TaskState::kCompleted;
    case TaskStatus::kFailed:
      return TaskState::kFailed;
    case TaskStatus::kPending:
      break;
  }
  if (blocked) return TaskState::kBlocked;
  if (unmet > 0) return TaskState::kWaiting;
  if (task.retry_at && *task.retry_at > now) return TaskState::kBackoff;
  return TaskState::kReady;
}

std::vector<TaskState> states_with(const Workflow& workflow, const BlockedBy& blocked_by,
                                   Micros now) {
  const std::vector<std::int64_t> unmet = unmet_dependency_counts(workflow);
  std::vector<TaskState> states;
  states.reserve(workflow.tasks.size());
  for (std::size_t i = 0; i < workflow.tasks.size(); ++i) {
    const Task& task = workflow.tasks[i];
    const bool blocked = task.status == TaskStatus::kPending && !blocked_by.of(task).empty();
    states.push_back(state_of(task, unmet[i], blocked, now));
  }
  return states;
}

RunningTaskView running_view(const Task& task) {
  return RunningTaskView{
      task.id,           task.description, task.claimed_by.value_or(""), task.attempts + 1,
      task.max_attempts, task.started_at,  task.lease_expires_at,        task.worktree};
}

// The task lists of the view, and how many tasks each failed one blocks.
void list_tasks(const Workflow& workflow, const std::vector<TaskState>& states,
                const BlockedBy& blocked_by, StatusView& view) {
  std::unordered_map<std::string_view, std::size_t> failed_index;
  for (std::size_t i = 0; i < workflow.tasks.size(); ++i) {
    const Task& task = workflow.tasks[i];
    view.counts.add(states[i]);
    if (states[i] == TaskState::kRunning) view.running.push_back(running_view(task));
    if (states[i] == TaskState::kFailed) {
      failed_index.emplace(task.id, view.failed.size());
      view.failed.push_back(FailedTaskView{task.id, task.description, task.last_error.value_or(""),
                                           task.attempts, task.max_attempts, 0});
    }
    if (states[i] == TaskState::kBlocked)
      view.blocked.push_back(BlockedTaskView{task.id, task.description, blocked_by.of(task)});
  }
  for (const BlockedTaskView& b : view.blocked)
    for (const std::string& blocker : b.blocked_by)
      if (auto it = failed_index.find(blocker); it != failed_index.end())
        ++view.failed[it->second].blocks;
  std::stable_sort(view.running.begin(), view.running.end(), [](const auto& a, const auto& b) {
    return a.lease_expires_at.value_or(0) < b.lease_expires_at.value_or(0);
  });
}

Throughput measure(std::span<const TrajectoryEvent> events, const StateCounts& counts, Micros now,
                   Micros window) {
  Throughput t;
  t.window = window;
  t.remaining = counts.remaining();
  Micros start = now - window;
  if (!events.empty()) start = std::max(start, events.front().ts);
  for (const TrajectoryEvent& e : events)
    if (starts_a_new_plan(e) && e.ts <= now) start = std::max(start, e.ts);
  for (const TrajectoryEvent& e : events)
    if (e.kind == "complete" && e.ts >= start && e.ts <= now) ++t.completed;
  // A rate per minute measured over less than a minute says little: a young plan's is taken
  // over its first minute.
  t.span = std::max<Micros>(now - start, 60 * kMicrosPerSecond);
  t.per_minute = static_cast<double>(t.completed) * 60 * kMicrosPerSecond / t.span;
  if (t.remaining == 0 && counts.blocked == 0) {
    t.eta = 0;
  } else if (t.remaining > 0 && t.completed > 0) {
    t.eta = static_cast<Micros>(static_cast<double>(t.remaining) * t.span / t.completed);
  }
  return t;
}

std::vector<WorkerView> workers_of(const StatusView& view,
                                   std::span<const TrajectoryEvent> events) {
  std::map<std::string, WorkerView> workers;
  const auto worker = [&](const std::string& id) -> WorkerView& {
    WorkerView& w = workers[id];
    w.worker_id = id;
    return w;
  };
  for (const RunningTaskView& r : view.running)
    if (!r.worker_id.empty()) worker(r.worker_id).holding.push_back(r.id);
  for (const TrajectoryEvent& e : events) {
    if (e.worker_id.empty()) continue;
    WorkerView& w = worker(e.worker_id);
    w.last_seen = e.ts;
    w.last_event = e.kind;
    if (e.kind == "complete") ++w.completed;
  }
  std::vector<WorkerView> list;
  list.reserve(workers.size());
  for (auto& [id, w] : workers) list.push_back(std::move(w));
  return list;
}

}  // namespace

std::string_view to_string(TaskState state) {
  switch (state) {
    case TaskState::kWaiting:
      return "waiting";
    case TaskState::kReady:
      return "ready";
    case TaskState::kBackoff:
      return "backoff";
    case TaskState::kBlocked:
      return "blocked";
    case TaskState::kRunning:
      return "running";
    case TaskState::kFailed:
      return "failed";
    case TaskState::kCompleted:
      return "completed";
  }
  return "unknown";
}

std::vector<TaskState> task_states(const Workflow& workflow, Micros now) {
  return states_with(workflow, BlockedBy(workflow), now);
}

void StateCounts::add(TaskState state) {
  switch (state) {
    case TaskState::kWaiting:
      ++waiting;
      break;
    case TaskState::kReady:
      ++ready;
      break;
    case TaskState::kBackoff:
      ++backoff;
      break;
    case TaskState::kBlocked:
      ++blocked;
      break;
    case TaskState::kRunning:
      ++running;
      break;
    case TaskState::kFailed:
      ++failed;
      break;
    case TaskState::kCompleted:
      ++completed;
      break;
  }
}

std::int64_t StateCounts::of(TaskState state) const {
  switch (state) {
    case TaskState::kWaiting:
      return waiting;
    case TaskState::kReady:
      return ready;
    case TaskState::kBackoff:
      return backoff;
    case TaskState::kBlocked:
      return blocked;
    case TaskState::kRunning:
      return running;
    case TaskState::kFailed:
      return failed;
    case TaskState::kCompleted:
      return completed;
  }
  return 0;
}

StatusView compute_status_view(const Workflow& workflow, std::span<const TrajectoryEvent> events,
                               Micros now, const StatusViewOptions& options) {
  StatusView view;
  view.now = now;
  view.goal = workflow.goal;
  const BlockedBy blocked_by(workflow);
  view.states = states_with(workflow, blocked_by, now);
  list_tasks(workflow, view.states, blocked_by, view);
  view.throughput = measure(events, view.counts, now, options.throughput_window);
  const std::size_t recent = std::min(options.recent_events, events.size());
  view.recent.assign(events.end() - static_cast<std::ptrdiff_t>(recent), events.end());
  view.workers = workers_of(view, events);
  return view;
}

}  // namespace harness
