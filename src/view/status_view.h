// What `harness status`, its --watch and the web dashboard show: a pure function from the
// workflow, the recent trajectory events and the time to a StatusView, so that every front
// end shows the same thing and tests need no daemon (README, "Watching the fleet").
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/task.h"
#include "view/trajectory_event.h"

namespace harness {

// A task's state as a person reads it: a pending task is ready (claimable now), waiting (on
// dependencies not completed yet), backing off (after a failed attempt) or blocked (behind a
// failed task, never handed out until a retry).
enum class TaskState { kWaiting, kReady, kBackoff, kBlocked, kRunning, kFailed, kCompleted };

// "waiting", "ready", "backoff", "blocked", "running", "failed", "completed".
std::string_view to_string(TaskState state);

// The state of each task of a validated workflow at `now`, in plan order.
std::vector<TaskState> task_states(const Workflow& workflow, Micros now);

struct StateCounts {
  std::int64_t waiting = 0, ready = 0, backoff = 0, blocked = 0, running = 0, failed = 0,
               completed = 0;

  void add(TaskState state);
  std::int64_t of(TaskState state) const;
  // The tasks whose stored status is pending: ready, waiting, backing off or blocked.
  std::int64_t pending() const { return waiting + ready + backoff + blocked; }
  std::int64_t total() const { return pending() + running + failed + completed; }
  // What can still complete without an operator: pending tasks not blocked, and running ones.
  std::int64_t remaining() const { return waiting + ready + backoff + running; }
};

struct RunningTaskView {
  std::string id, description, worker_id;
  std::int64_t attempt = 1, max_attempts = kDefaultMaxAttempts;
  std::optional<Micros> started_at, lease_expires_at;
  std::optional<std::string> worktree;  // the worktree the claim came from, when it said
};

struct FailedTaskView {
  std::string id, description, last_error;
  std::int64_t attempts = 0, max_attempts = kDefaultMaxAttempts;
  std::int64_t blocks = 0;  // tasks blocked behind this one
};

struct BlockedTaskView {
  std::string id, description;
  std::vector<std::string> blocked_by;  // the failed tasks it waits on, in plan order
};

// Completions per minute over the last `window` (or since the plan started, or since the
// oldest event given, when that is later; at least over a minute), and when the rest should be
// done at that pace.
struct Throughput {
  Micros window = 0;  // the window asked for
  Micros span = 0;    // the part of it the rate is measured over
  std::int64_t completed = 0;
  double per_minute = 0;
  std::int64_t remaining = 0;  // StateCounts::remaining
  // How long the remaining tasks should take at this pace; 0 when nothing remains, nullopt
  // when it cannot be told (nothing completed in the window, or only blocked tasks remain).
  std::optional<Micros> eta;
};

// A worker seen holding a task or in the events given.
struct WorkerView {
  std::string worker_id;
  std::vector<std::string> holding;  // ids of the tasks it runs
  std::optional<Micros> last_seen;   // its last event among those given
  std::string last_event;            // that event's kind
  std::int64_t completed = 0;        // its complete events among those given
};

// How many of the trajectory's last lines the front ends compute a view over: enough for the
// throughput window of a busy fleet and for what each worker did last.
inline constexpr std::size_t kViewEventLines = 4000;

struct StatusViewOptions {
  Micros throughput_window = 5 * 60 * kMicrosPerSecond;
  std::size_t recent_events = 8;
};

struct StatusView {
  Micros now = 0;
  std::optional<std::string> goal;
  StateCounts counts;
  std::vector<RunningTaskView> running;  // soonest lease expiry first
  std::vector<FailedTaskView> failed;    // plan order
  std::vector<BlockedTaskView> blocked;  // plan order
  Throughput throughput;
  std::vector<TrajectoryEvent> recent;  // the last options.recent_events events, oldest first
  std::vector<WorkerView> workers;      // by worker id
  std::vector<TaskState> states;        // each task's, in plan order (for dag_view.h)
};

// The view of a validated `workflow` at `now`. `events` are the trajectory's last events,
// oldest first (any number; the throughput and the workers are measured over those given).
StatusView compute_status_view(const Workflow& workflow, std::span<const TrajectoryEvent> events,
                               Micros now, const StatusViewOptions& options = {});

}  // namespace harness
