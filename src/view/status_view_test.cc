#include "view/status_view.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/workflow.h"

namespace harness {
namespace {

using ::testing::ElementsAre;

constexpr Micros kNow = 1'800'000'000LL * kMicrosPerSecond;
constexpr Micros kMinute = 60 * kMicrosPerSecond;

Task task(std::string id, TaskStatus status = TaskStatus::kPending,
          std::vector<std::string> deps = {}) {
  Task t;
  t.id = std::move(id);
  t.status = status;
  t.dependencies = std::move(deps);
  return t;
}

Task running(std::string id, std::string worker, Micros expires) {
  Task t = task(std::move(id), TaskStatus::kRunning);
  t.claimed_by = std::move(worker);
  t.started_at = expires - 600 * kMicrosPerSecond;
  t.lease_expires_at = expires;
  return t;
}

TrajectoryEvent event(Micros ts, std::string kind, std::string task_id = {},
                      std::string worker = {}) {
  TrajectoryEvent e;
  e.ts = ts;
  e.kind = std::move(kind);
  e.task_id = std::move(task_id);
  e.worker_id = std::move(worker);
  e.line = R"({"event":")" + e.kind + R"("})";
  return e;
}

// a (completed) -> b (failed) -> c (blocked) -> d (blocked); e running, f ready, g waiting
// on e, h backing off.
Workflow fleet() {
  Workflow w;
  w.tasks.push_back(task("a", TaskStatus::kCompleted));
  Task b = task("b", TaskStatus::kFailed, {"a"});
  b.attempts = 3;
  b.last_error = "out of memory";
  w.tasks.push_back(b);
  w.tasks.push_back(task("c", TaskStatus::kPending, {"b"}));
  w.tasks.push_back(task("d", TaskStatus::kPending, {"c"}));
  Task e = running("e", "w1", kNow + 90 * kMicrosPerSecond);
  e.attempts = 1;
  w.tasks.push_back(e);
  w.tasks.push_back(task("f"));
  w.tasks.push_back(task("g", TaskStatus::kPending, {"e"}));
  Task h = task("h");
  h.retry_at = kNow + kMinute;
  w.tasks.push_back(h);
  validate_workflow(w);
  return w;
}

TEST(StatusViewTest, SortsEveryTaskIntoOneState) {
  const Workflow w = fleet();
  EXPECT_THAT(task_states(w, kNow),
              ElementsAre(TaskState::kCompleted, TaskState::kFailed, TaskState::kBlocked,
                          TaskState::kBlocked, TaskState::kRunning, TaskState::kReady,
                          TaskState::kWaiting, TaskState::kBackoff));
  const StatusView view = compute_status_view(w, {}, kNow);
  const StateCounts& c = view.counts;
  EXPECT_EQ(c.completed, 1);
  EXPECT_EQ(c.failed, 1);
  EXPECT_EQ(c.blocked, 2);
  EXPECT_EQ(c.running, 1);
  EXPECT_EQ(c.ready, 1);
  EXPECT_EQ(c.waiting, 1);
  EXPECT_EQ(c.backoff, 1);
  EXPECT_EQ(c.pending(), 5);
  EXPECT_EQ(c.total(), 8);
  EXPECT_EQ(c.remaining(), 4);
}

TEST(StatusViewTest, ABackoffThatIsOverIsReady) {
  const Workflow w = fleet();
  EXPECT_EQ(task_states(w, kNow + 2 * kMinute)[7], TaskState::kReady);
}

TEST(StatusViewTest, ListsRunningFailedAndBlockedTasksWithWhatAPersonNeeds) {
  const StatusView view = compute_status_view(fleet(), {}, kNow);
  ASSERT_EQ(view.running.size(), 1u);
  EXPECT_EQ(view.running[0].id, "e");
  EXPECT_EQ(view.running[0].worker_id, "w1");
  EXPECT_EQ(view.running[0].attempt, 2);
  EXPECT_EQ(view.running[0].lease_expires_at, kNow + 90 * kMicrosPerSecond);
  ASSERT_EQ(view.failed.size(), 1u);
  EXPECT_EQ(view.failed[0].last_error, "out of memory");
  EXPECT_EQ(view.failed[0].attempts, 3);
  EXPECT_EQ(view.failed[0].blocks, 2);
  ASSERT_EQ(view.blocked.size(), 2u);
  EXPECT_EQ(view.blocked[1].id, "d");
  EXPECT_THAT(view.blocked[1].blocked_by, ElementsAre("b"));
}

TEST(StatusViewTest, RunningTasksComeSoonestLeaseExpiryFirst) {
  Workflow w;
  w.tasks = {running("late", "w1", kNow + kMinute), running("soon", "w2", kNow + 1)};
  const StatusView view = compute_status_view(w, {}, kNow);
  EXPECT_EQ(view.running[0].id, "soon");
  EXPECT_EQ(view.running[1].id, "late");
}

TEST(StatusViewTest, ThroughputCountsCompletionsInTheWindowAndGivesAnEta) {
  const Workflow w = fleet();  // 4 tasks remain
  std::vector<TrajectoryEvent> events{event(kNow - 20 * kMinute, "complete", "old"),
                                      event(kNow - 4 * kMinute, "claim", "a", "w1")};
  for (int i = 0; i < 4; ++i) events.push_back(event(kNow - (3 - i) * kMinute, "complete", "a"));
  const StatusView view = compute_status_view(w, events, kNow);
  EXPECT_EQ(view.throughput.completed, 4);
  EXPECT_EQ(view.throughput.span, 5 * kMinute);
  EXPECT_DOUBLE_EQ(view.throughput.per_minute, 0.8);
  EXPECT_EQ(view.throughput.eta, 5 * kMinute);  // 4 tasks at 0.8 a minute
}

TEST(StatusViewTest, ThroughputStartsWithTheCurrentPlan) {
  std::vector<TrajectoryEvent> events{event(kNow - 3 * kMinute, "complete", "x"),
                                      event(kNow - 2 * kMinute, "plan_import"),
                                      event(kNow - kMinute, "complete", "a")};
  const StatusView view = compute_status_view(fleet(), events, kNow);
  EXPECT_EQ(view.throughput.completed, 1);
  EXPECT_EQ(view.throughput.span, 2 * kMinute);
}

TEST(StatusViewTest, NoEtaWithoutCompletionsAndNoneLeftWhenDone) {
  EXPECT_FALSE(compute_status_view(fleet(), {}, kNow).throughput.eta);
  Workflow done;
  done.tasks = {task("a", TaskStatus::kCompleted)};
  EXPECT_EQ(compute_status_view(done, {}, kNow).throughput.eta, 0);
  Workflow stuck;
  stuck.tasks = {task("a", TaskStatus::kFailed), task("b", TaskStatus::kPending, {"a"})};
  EXPECT_FALSE(compute_status_view(stuck, {}, kNow).throughput.eta);
}

TEST(StatusViewTest, KeepsTheLastEventsAndWhatEachWorkerDid) {
  std::vector<TrajectoryEvent> events;
  for (int i = 0; i < 12; ++i) events.push_back(event(kNow - 12 + i, "complete", "a", "w2"));
  events.push_back(event(kNow, "claim", "e", "w1"));
  StatusViewOptions options;
  options.recent_events = 3;
  const StatusView view = compute_status_view(fleet(), events, kNow, options);
  ASSERT_EQ(view.recent.size(), 3u);
  EXPECT_EQ(view.recent.back().kind, "claim");
  ASSERT_EQ(view.workers.size(), 2u);
  EXPECT_EQ(view.workers[0].worker_id, "w1");
  EXPECT_THAT(view.workers[0].holding, ElementsAre("e"));
  EXPECT_EQ(view.workers[0].last_event, "claim");
  EXPECT_EQ(view.workers[1].completed, 12);
}

TEST(StatusViewTest, AnEmptyPlanIsDone) {
  const StatusView view = compute_status_view(Workflow{}, {}, kNow);
  EXPECT_EQ(view.counts.total(), 0);
  EXPECT_EQ(view.throughput.eta, 0);
}

}  // namespace
}  // namespace harness
