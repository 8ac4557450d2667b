// The Store contract (store/store.h, batching_store.h) on every engine: replacing and loading
// workflows, the claim policy, completion and its dependents, completion marks, batches, and
// several stores on the same state. What only one engine has (SQLite's files, schema and query
// plans) is tested beside it (sqlite_store_test.cc).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/error.h"
#include "testing/error_of.h"
#include "testing/store_engines.h"
#include "testing/store_test_tasks.h"

namespace harness {
namespace {

using test_support::error_of;

using test_support::StoreAccess;
using ::testing::HasSubstr;

constexpr Micros kT0 = 1'700'000'000'000'000;
constexpr Micros kSecond = kMicrosPerSecond;

using test_support::find;
using test_support::rethrow_message;
using test_support::task;
using test_support::workflow;

class StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<BatchingStore> open(StoreAccess access = StoreAccess::kReadWrite) {
    return engine_->open(access);
  }

  // Runs `ops` in one batch as the group committer runs its mutations (begin, each op, commit):
  // one slot per op, holding what it threw, or the commit's failure.
  static std::vector<std::exception_ptr> run_batch(BatchingStore& store,
                                                   const std::vector<std::function<void()>>& ops) {
    std::vector<std::exception_ptr> errors(ops.size());
    store.begin_batch();
    for (std::size_t i = 0; i < ops.size(); ++i)
      errors[i] = store.run_in_batch([&](Store&) { ops[i](); });
    if (std::exception_ptr failure = store.commit_batch()) errors.assign(ops.size(), failure);
    return errors;
  }

  // The id of the task `worker` claims at `now`, or "" when nothing is claimable.
  static std::string claim_id(Store& store, const std::string& worker, Micros now) {
    ClaimResult r = store.claim(worker, now);
    return r.task ? r.task->id : "";
  }

 private:
  std::unique_ptr<test_support::StoreEngine> engine_ = test_support::make_store_engine(GetParam());
};

TEST_P(StoreTest, NoWorkflow) {
  auto store = open();
  EXPECT_EQ(store->load(), std::nullopt);
  EXPECT_EQ(store->status_counts(), std::nullopt);
  EXPECT_EQ(store->completion_mark("w"), std::nullopt);
  EXPECT_FALSE(store->claim("w", kT0).task.has_value());
  EXPECT_EQ(error_of(Error::Kind::kNotFound, [&] { store->complete("x", "w", kT0, std::nullopt); }),
            "Task x not found");
}

TEST_P(StoreTest, EmptyWorkflowIsAWorkflow) {
  auto store = open();
  store->replace_workflow(Workflow{}, ReplaceMode::kAlways);
  ASSERT_TRUE(store->load().has_value());
  EXPECT_TRUE(store->load()->tasks.empty());
  ASSERT_TRUE(store->status_counts().has_value());
  EXPECT_EQ(store->status_counts()->total(), 0);
}

Workflow rich_workflow() {
  Task done = task("zeta");
  done.status = TaskStatus::kCompleted;
  done.started_at = kT0 + 1;
  done.completed_at = kT0 + 2 * kSecond + 999'999;
  done.claimed_by = "w-old";
  done.timeout_seconds = 5;
  done.instructions = "line 1\nline 2 \"quoted\"";
  done.command = std::vector<std::string>{"sh", "-c", "echo 'hi'"};

  Task running = task("alpha", {"zeta"});
  running.status = TaskStatus::kRunning;
  running.started_at = kT0 + 123'456;
  running.claimed_by = "w1";
  running.timeout_seconds = 3600;
  running.lease_expires_at = kT0 + 123'456 + 3600 * kSecond;  // what a load derives

  Task failed = task("mid");
  failed.status = TaskStatus::kFailed;
  failed.description = "";
  failed.instructions = "";

  Task pending = task("beta", {"alpha", "zeta", "alpha"});
  pending.command = std::vector<std::string>{"true"};

  return workflow({done, running, failed, pending, task("omega")});
}

TEST_P(StoreTest, ReplaceThenLoadRoundTrips) {
  auto store = open();
  const Workflow w = rich_workflow();
  store->replace_workflow(w, ReplaceMode::kAlways);
  auto loaded = store->load();
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(*loaded, w);
  // Field by field for a readable failure.
  ASSERT_EQ(loaded->tasks.size(), 5u);
  EXPECT_EQ(loaded->tasks[0].id, "zeta");
  EXPECT_EQ(loaded->tasks[0].completed_at, kT0 + 2 * kSecond + 999'999);
  EXPECT_EQ(loaded->tasks[0].command, w.tasks[0].command);
  EXPECT_EQ(loaded->tasks[1].id, "alpha");
  EXPECT_EQ(loaded->tasks[2].instructions, std::optional<std::string>(""));
  EXPECT_EQ(loaded->tasks[3].dependencies, (std::vector<std::string>{"alpha", "zeta", "alpha"}));
  EXPECT_EQ(loaded->tasks[4].instructions, std::nullopt);
  EXPECT_EQ(loaded->tasks[4].command, std::nullopt);

  StatusCounts c = *store->status_counts();
  EXPECT_EQ(c.pending, 2);
  EXPECT_EQ(c.running, 1);
  EXPECT_EQ(c.completed, 1);
  EXPECT_EQ(c.failed, 1);
}

TEST_P(StoreTest, ReplaceKeepsPlanOrderOfManyTasks) {
  auto store = open();
  Workflow w;
  for (int i = 0; i < 2000; ++i) w.tasks.push_back(task("t" + std::to_string((i * 7919) % 2000)));
  store->replace_workflow(w, ReplaceMode::kAlways);
  EXPECT_EQ(*store->load(), w);
}

TEST_P(StoreTest, ReplaceAlwaysReplacesUnfinishedWork) {
  auto store = open();
  store->replace_workflow(workflow({task("a"), task("b")}), ReplaceMode::kAlways);
  ASSERT_EQ(claim_id(*store, "w", kT0), "a");
  const Workflow next = workflow({task("x"), task("y", {"x"})});
  store->replace_workflow(next, ReplaceMode::kAlways);
  EXPECT_EQ(*store->load(), next);
  // The old tasks are gone entirely, and so is the worker's hold on "a".
  EXPECT_EQ(error_of(Error::Kind::kNotFound, [&] { store->complete("a", "w", kT0, std::nullopt); }),
            "Task a not found");
  ClaimResult r = store->claim("w", kT0 + 1);
  ASSERT_TRUE(r.task);
  EXPECT_EQ(r.task->id, "x");
  EXPECT_FALSE(r.is_retry);
}

TEST_P(StoreTest, ReplaceWithInvalidGraphThrowsAndKeepsThePrevious) {
  auto store = open();
  const Workflow good = workflow({task("a"), task("b", {"a"})});
  store->replace_workflow(good, ReplaceMode::kAlways);
  ASSERT_EQ(claim_id(*store, "w", kT0), "a");
  const Workflow after_claim = *store->load();

  EXPECT_EQ(
      error_of(
          Error::Kind::kInvalidArgument,
          [&] { store->replace_workflow(workflow({task("a", {"ghost"})}), ReplaceMode::kAlways); }),
      "Missing dependency: ghost (required by a)");
  EXPECT_THAT(error_of(Error::Kind::kInvalidArgument,
                       [&] {
                         store->replace_workflow(workflow({task("x", {"y"}), task("y", {"x"})}),
                                                 ReplaceMode::kAlways);
                       }),
              HasSubstr("Cycle detected at"));
  EXPECT_EQ(
      error_of(Error::Kind::kInvalidArgument,
               [&] {
                 store->replace_workflow(workflow({task("a"), task("a")}), ReplaceMode::kAlways);
               }),
      "Duplicate task id: a");
  EXPECT_EQ(*store->load(), after_claim);
}

TEST_P(StoreTest, InvalidFirstWorkflowCreatesNothing) {
  auto store = open();
  EXPECT_THROW(store->replace_workflow(workflow({task("a", {"a"})}), ReplaceMode::kAlways), Error);
  EXPECT_EQ(store->load(), std::nullopt);
  EXPECT_EQ(store->status_counts(), std::nullopt);
}

TEST_P(StoreTest, UnlessUnfinishedAllowsTheFirstWorkflow) {
  auto store = open();
  const Workflow w = workflow({task("a")});
  store->replace_workflow(w, ReplaceMode::kUnlessUnfinished);
  EXPECT_EQ(*store->load(), w);
}

TEST_P(StoreTest, UnlessUnfinishedRefusesWhilePendingTasksExist) {
  auto store = open();
  const Workflow w = workflow({task("a"), task("b")});
  store->replace_workflow(w, ReplaceMode::kAlways);
  std::string m = error_of(Error::Kind::kConflict, [&] {
    store->replace_workflow(workflow({task("new")}), ReplaceMode::kUnlessUnfinished);
  });
  EXPECT_THAT(m, HasSubstr("2 pending"));
  EXPECT_EQ(*store->load(), w);
}

TEST_P(StoreTest, UnlessUnfinishedRefusesWhileRunningTasksExist) {
  auto store = open();
  store->replace_workflow(workflow({task("a"), task("b")}), ReplaceMode::kAlways);
  ASSERT_EQ(claim_id(*store, "w1", kT0), "a");
  store->complete("a", "w1", kT0 + 1, std::nullopt);
  ASSERT_EQ(claim_id(*store, "w1", kT0 + 2), "b");
  const Workflow before = *store->load();
  std::string m = error_of(Error::Kind::kConflict, [&] {
    store->replace_workflow(workflow({task("new")}), ReplaceMode::kUnlessUnfinished);
  });
  EXPECT_THAT(m, HasSubstr("1 running"));
  EXPECT_EQ(*store->load(), before);
}

TEST_P(StoreTest, UnlessUnfinishedAllowsWhenAllCompletedOrFailed) {
  auto store = open();
  Task failed = task("f");
  failed.status = TaskStatus::kFailed;
  store->replace_workflow(workflow({task("a"), failed}), ReplaceMode::kAlways);
  ASSERT_EQ(claim_id(*store, "w1", kT0), "a");
  store->complete("a", "w1", kT0 + 1, std::nullopt);
  const Workflow next = workflow({task("n1"), task("n2", {"n1"})});
  store->replace_workflow(next, ReplaceMode::kUnlessUnfinished);
  EXPECT_EQ(*store->load(), next);
}

TEST_P(StoreTest, InvalidGraphCheckedBeforeUnfinishedConflict) {
  auto store = open();
  store->replace_workflow(workflow({task("a")}), ReplaceMode::kAlways);
  EXPECT_EQ(error_of(Error::Kind::kInvalidArgument,
                     [&] {
                       store->replace_workflow(workflow({task("b", {"ghost"})}),
                                               ReplaceMode::kUnlessUnfinished);
                     }),
            "Missing dependency: ghost (required by b)");
}

// ---------------------------------------------------------------------------------------------
// Claim.

TEST_P(StoreTest, ClaimFollowsPlanOrder) {
  auto store = open();
  store->replace_workflow(workflow({task("c"), task("a"), task("b")}), ReplaceMode::kAlways);
  ClaimResult r = store->claim("w1", kT0);
  ASSERT_TRUE(r.task);
  EXPECT_EQ(r.task->id, "c");
  EXPECT_FALSE(r.is_retry);
  EXPECT_FALSE(r.is_reclaim);
  EXPECT_EQ(r.task->status, TaskStatus::kRunning);
  EXPECT_EQ(r.task->claimed_by, "w1");
  EXPECT_EQ(r.task->started_at, kT0);
  EXPECT_EQ(r.task->description, "do c");
  EXPECT_EQ(claim_id(*store, "w2", kT0), "a");
  EXPECT_EQ(claim_id(*store, "w3", kT0), "b");
  ClaimResult none = store->claim("w4", kT0);
  EXPECT_FALSE(none.task.has_value());
  EXPECT_FALSE(none.is_retry);
  EXPECT_FALSE(none.is_reclaim);
  StatusCounts c = *store->status_counts();
  EXPECT_EQ(c.running, 3);
  EXPECT_EQ(c.pending, 0);
}

TEST_P(StoreTest, ClaimSkipsBlockedTasksInPlanOrder) {
  auto store = open();
  // "late" comes first in the plan but waits for "root"; "free" is ready at once.
  store->replace_workflow(workflow({task("late", {"root"}), task("root"), task("free")}),
                          ReplaceMode::kAlways);
  EXPECT_EQ(claim_id(*store, "w1", kT0), "root");
  EXPECT_EQ(claim_id(*store, "w2", kT0), "free");
  EXPECT_EQ(claim_id(*store, "w3", kT0), "");
  store->complete("root", "w1", kT0 + 1, std::nullopt);
  EXPECT_EQ(claim_id(*store, "w3", kT0 + 2), "late");
}

TEST_P(StoreTest, DependenciesBlockUntilCompleted) {
  auto store = open();
  store->replace_workflow(workflow({task("a"), task("b", {"a"}), task("c", {"b"})}),
                          ReplaceMode::kAlways);
  EXPECT_EQ(claim_id(*store, "w1", kT0), "a");
  EXPECT_EQ(claim_id(*store, "w2", kT0), "");  // b waits for a, which is only running
  store->complete("a", "w1", kT0 + 1, std::nullopt);
  EXPECT_EQ(claim_id(*store, "w2", kT0 + 2), "b");
  EXPECT_EQ(claim_id(*store, "w1", kT0 + 2), "");  // c waits for b
  store->complete("b", "w2", kT0 + 3, std::nullopt);
  EXPECT_EQ(claim_id(*store, "w1", kT0 + 4), "c");
}

TEST_P(StoreTest, FailedDependencyBlocksForever) {
  auto store = open();
  Task failed = task("a");
  failed.status = TaskStatus::kFailed;
  store->replace_workflow(workflow({failed, task("b", {"a"})}), ReplaceMode::kAlways);
  EXPECT_EQ(claim_id(*store, "w1", kT0), "");
  EXPECT_EQ(claim_id(*store, "w1", kT0 + 1'000'000 * kSecond), "");
}

TEST_P(StoreTest, ImportedCompletedDependenciesCount) {
  auto store = open();
  Task done = task("a");
  done.status = TaskStatus::kCompleted;
  store->replace_workflow(workflow({done, task("b", {"a"}), task("c", {"a", "b"})}),
                          ReplaceMode::kAlways);
  EXPECT_EQ(claim_id(*store, "w1", kT0), "b");
  EXPECT_EQ(claim_id(*store, "w2", kT0), "");
}

TEST_P(StoreTest, ClaimAgainRenewsTheSameTask) {
  auto store = open();
  store->replace_workflow(workflow({task("a"), task("b")}), ReplaceMode::kAlways);
  ManualClock clock(kT0);
  ASSERT_EQ(claim_id(*store, "w1", clock.now()), "a");
  clock.advance(7 * kSecond + 3);
  ClaimResult again = store->claim("w1", clock.now());
  ASSERT_TRUE(again.task);
  EXPECT_EQ(again.task->id, "a");
  EXPECT_TRUE(again.is_retry);
  EXPECT_FALSE(again.is_reclaim);
  EXPECT_EQ(again.task->started_at, clock.now());
  EXPECT_EQ(again.task->claimed_by, "w1");
  EXPECT_EQ(find(store->load(), "a").started_at, clock.now());
  // "b" is still pending: the retry did not take a second task.
  EXPECT_EQ(find(store->load(), "b").status, TaskStatus::kPending);
}

TEST_P(StoreTest, RenewalExtendsTheLease) {
  auto store = open();
  Task t = task("a");
  t.timeout_seconds = 10;
  store->replace_workflow(workflow({t}), ReplaceMode::kAlways);
  ASSERT_EQ(claim_id(*store, "A", kT0), "a");
  ASSERT_TRUE(store->claim("A", kT0 + 8 * kSecond).is_retry);
  // The original lease would have expired here, the renewed one has not.
  EXPECT_EQ(claim_id(*store, "B", kT0 + 10 * kSecond + 1), "");
  EXPECT_EQ(claim_id(*store, "B", kT0 + 18 * kSecond), "");
  ClaimResult r = store->claim("B", kT0 + 18 * kSecond + 1);
  ASSERT_TRUE(r.task);
  EXPECT_TRUE(r.is_reclaim);
}

TEST_P(StoreTest, LeaseExpiryIsStrictAndReclaimMovesTheTask) {
  auto store = open();
  Task t = task("a");
  t.timeout_seconds = 10;
  store->replace_workflow(workflow({t, task("b", {"a"})}), ReplaceMode::kAlways);
  ManualClock clock(kT0);
  ASSERT_EQ(claim_id(*store, "A", clock.now()), "a");

  clock.advance(10 * kSecond);  // now - started_at == timeout: not expired yet
  EXPECT_EQ(claim_id(*store, "B", clock.now()), "");

  clock.advance(1);  // one microsecond later it is
  ClaimResult r = store->claim("B", clock.now());
  ASSERT_TRUE(r.task);
  EXPECT_EQ(r.task->id, "a");
  EXPECT_TRUE(r.is_reclaim);
  EXPECT_FALSE(r.is_retry);
  EXPECT_EQ(r.task->claimed_by, "B");
  EXPECT_EQ(r.task->status, TaskStatus::kRunning);
  EXPECT_EQ(r.task->started_at, clock.now());

  // A lost it: it cannot complete it, and claiming again does not give it back.
  EXPECT_EQ(error_of(Error::Kind::kConflict,
                     [&] { store->complete("a", "A", clock.now(), std::nullopt); }),
            "Task a is not claimed by A");
  ClaimResult a_again = store->claim("A", clock.now());
  EXPECT_FALSE(a_again.task.has_value());

  // B's renewal is a retry, and B can complete it.
  ClaimResult b_again = store->claim("B", clock.now() + 1);
  ASSERT_TRUE(b_again.task);
  EXPECT_TRUE(b_again.is_retry);
  EXPECT_FALSE(b_again.is_reclaim);
  store->complete("a", "B", clock.now() + 2, std::nullopt);
  EXPECT_EQ(claim_id(*store, "A", clock.now() + 3), "b");
}

TEST_P(StoreTest, PendingTasksComeBeforeExpiredLeases) {
  auto store = open();
  Task t = task("a");
  t.timeout_seconds = 1;
  store->replace_workflow(workflow({t, task("b")}), ReplaceMode::kAlways);
  ASSERT_EQ(claim_id(*store, "A", kT0), "a");
  ClaimResult r = store->claim("B", kT0 + 100 * kSecond);
  ASSERT_TRUE(r.task);
  EXPECT_EQ(r.task->id, "b");
  EXPECT_FALSE(r.is_reclaim);
  r = store->claim("C", kT0 + 100 * kSecond);
  ASSERT_TRUE(r.task);
  EXPECT_EQ(r.task->id, "a");
  EXPECT_TRUE(r.is_reclaim);
}

TEST_P(StoreTest, ReclaimTakesTheOldestExpiredLeaseFirst) {
  auto store = open();
  Task a = task("a"), b = task("b");
  a.timeout_seconds = 100;
  b.timeout_seconds = 10;
  store->replace_workflow(workflow({a, b}), ReplaceMode::kAlways);
  ASSERT_EQ(claim_id(*store, "A", kT0), "a");
  ASSERT_EQ(claim_id(*store, "B", kT0), "b");
  // Both have expired; b's lease ended first.
  EXPECT_EQ(claim_id(*store, "C", kT0 + 200 * kSecond), "b");
  EXPECT_EQ(claim_id(*store, "D", kT0 + 200 * kSecond), "a");
  EXPECT_EQ(claim_id(*store, "E", kT0 + 200 * kSecond), "");
}

TEST_P(StoreTest, ImportedRunningTasksHaveLeases) {
  auto store = open();
  Task with_start = task("a");
  with_start.status = TaskStatus::kRunning;
  with_start.claimed_by = "old";
  with_start.started_at = kT0;
  with_start.timeout_seconds = 10;
  Task without_start = task("b");
  without_start.status = TaskStatus::kRunning;
  without_start.claimed_by = "gone";
  store->replace_workflow(workflow({with_start, without_start}), ReplaceMode::kAlways);

  // The owner of an imported task renews it.
  ClaimResult own = store->claim("old", kT0 + kSecond);
  ASSERT_TRUE(own.task);
  EXPECT_EQ(own.task->id, "a");
  EXPECT_TRUE(own.is_retry);
  // A running task without a start time can be reclaimed at once; "a" cannot.
  ClaimResult r = store->claim("new", kT0 + 2 * kSecond);
  ASSERT_TRUE(r.task);
  EXPECT_EQ(r.task->id, "b");
  EXPECT_TRUE(r.is_reclaim);
  EXPECT_EQ(claim_id(*store, "other", kT0 + 2 * kSecond), "");
}

TEST_P(StoreTest, ExpiredRunningTaskWithUnmetDependenciesIsNotReclaimed) {
  auto store = open();
  Task b = task("b", {"a"});
  b.status = TaskStatus::kRunning;
  b.claimed_by = "old";
  b.started_at = kT0;
  b.timeout_seconds = 1;
  store->replace_workflow(workflow({task("a"), b}), ReplaceMode::kAlways);
  EXPECT_EQ(claim_id(*store, "w1", kT0 + 100 * kSecond), "a");
  EXPECT_EQ(claim_id(*store, "w2", kT0 + 100 * kSecond), "");
}

// ---------------------------------------------------------------------------------------------
// Complete.

TEST_P(StoreTest, CompleteRecordsTheCompletion) {
  auto store = open();
  store->replace_workflow(workflow({task("a"), task("b")}), ReplaceMode::kAlways);
  ASSERT_EQ(claim_id(*store, "w1", kT0), "a");
  store->complete("a", "w1", kT0 + 5 * kSecond + 7, std::nullopt);
  const Task a = find(store->load(), "a");
  EXPECT_EQ(a.status, TaskStatus::kCompleted);
  EXPECT_EQ(a.completed_at, kT0 + 5 * kSecond + 7);
  EXPECT_EQ(a.started_at, kT0);
  EXPECT_EQ(a.claimed_by, "w1");
  StatusCounts c = *store->status_counts();
  EXPECT_EQ(c.completed, 1);
  EXPECT_EQ(c.pending, 1);
  EXPECT_EQ(c.running, 0);
  // The worker is free again: its next claim is a new task, not a retry.
  ClaimResult next = store->claim("w1", kT0 + 6 * kSecond);
  ASSERT_TRUE(next.task);
  EXPECT_EQ(next.task->id, "b");
  EXPECT_FALSE(next.is_retry);
}

TEST_P(StoreTest, CompletedTaskIsNeverReclaimed) {
  auto store = open();
  Task t = task("a");
  t.timeout_seconds = 1;
  store->replace_workflow(workflow({t}), ReplaceMode::kAlways);
  ASSERT_EQ(claim_id(*store, "w1", kT0), "a");
  store->complete("a", "w1", kT0 + 1, std::nullopt);
  EXPECT_EQ(claim_id(*store, "w2", kT0 + 1000 * kSecond), "");
}

TEST_P(StoreTest, CompleteErrors) {
  auto store = open();
  store->replace_workflow(workflow({task("a"), task("b"), task("c")}), ReplaceMode::kAlways);
  ASSERT_EQ(claim_id(*store, "w1", kT0), "a");
  const Workflow before = *store->load();

  EXPECT_EQ(
      error_of(Error::Kind::kNotFound, [&] { store->complete("X", "w1", kT0, std::nullopt); }),
      "Task X not found");
  EXPECT_EQ(error_of(Error::Kind::kConflict, [&] { store->complete("a", "W", kT0, std::nullopt); }),
            "Task a is not claimed by W");
  // A pending task is claimed by nobody.
  EXPECT_EQ(
      error_of(Error::Kind::kConflict, [&] { store->complete("b", "w1", kT0, std::nullopt); }),
      "Task b is not claimed by w1");
  EXPECT_EQ(*store->load(), before);

  store->complete("a", "w1", kT0 + 1, "abc123");
  EXPECT_THAT(error_of(Error::Kind::kConflict, [&] { store->complete("a", "w1", kT0 + 2, "def"); }),
              HasSubstr("already completed"));
  EXPECT_EQ(
      error_of(Error::Kind::kConflict, [&] { store->complete("a", "w2", kT0 + 2, std::nullopt); }),
      "Task a is already completed");
  // The rejected completion neither moved the completion time nor the mark.
  EXPECT_EQ(find(store->load(), "a").completed_at, kT0 + 1);
  ASSERT_TRUE(store->completion_mark("w1").has_value());
  EXPECT_EQ(store->completion_mark("w1")->commit, "abc123");
}

TEST_P(StoreTest, FailedTaskCannotBeCompleted) {
  auto store = open();
  Task f = task("f");
  f.status = TaskStatus::kFailed;
  f.claimed_by = "w1";
  store->replace_workflow(workflow({f}), ReplaceMode::kAlways);
  EXPECT_EQ(
      error_of(Error::Kind::kConflict, [&] { store->complete("f", "w1", kT0, std::nullopt); }),
      "Task f is not claimed by w1");
}

TEST_P(StoreTest, DoubleCompletionDoesNotReleaseDependentsTwice) {
  auto store = open();
  store->replace_workflow(workflow({task("a"), task("b"), task("c", {"a", "b"})}),
                          ReplaceMode::kAlways);
  ASSERT_EQ(claim_id(*store, "w1", kT0), "a");
  ASSERT_EQ(claim_id(*store, "w2", kT0), "b");
  store->complete("a", "w1", kT0 + 1, std::nullopt);
  EXPECT_THROW(store->complete("a", "w1", kT0 + 2, std::nullopt), Error);
  EXPECT_THROW(store->complete("a", "w1", kT0 + 3, std::nullopt), Error);
  // c still waits for b.
  EXPECT_EQ(claim_id(*store, "w3", kT0 + 4), "");
  store->complete("b", "w2", kT0 + 5, std::nullopt);
  EXPECT_EQ(claim_id(*store, "w3", kT0 + 6), "c");
}

TEST_P(StoreTest, RepeatedDependencyIsReleasedByOneCompletion) {
  auto store = open();
  store->replace_workflow(workflow({task("a"), task("b", {"a", "a", "a"})}), ReplaceMode::kAlways);
  ASSERT_EQ(claim_id(*store, "w1", kT0), "a");
  EXPECT_EQ(claim_id(*store, "w2", kT0), "");
  store->complete("a", "w1", kT0 + 1, std::nullopt);
  EXPECT_EQ(claim_id(*store, "w2", kT0 + 2), "b");
}

TEST_P(StoreTest, CompletingRootReleasesTheWholeFanOut) {
  auto store = open();
  constexpr int kChildren = 50;
  Workflow w = workflow({task("root")});
  for (int i = 0; i < kChildren; ++i)
    w.tasks.push_back(task("child-" + std::to_string(i), {"root"}));
  w.tasks.push_back(task("join", {"child-0", "child-49"}));
  store->replace_workflow(w, ReplaceMode::kAlways);

  ASSERT_EQ(claim_id(*store, "boss", kT0), "root");
  EXPECT_EQ(claim_id(*store, "w0", kT0), "");
  store->complete("root", "boss", kT0 + 1, std::nullopt);
  for (int i = 0; i < kChildren; ++i)
    EXPECT_EQ(claim_id(*store, "w" + std::to_string(i), kT0 + 2), "child-" + std::to_string(i));
  EXPECT_EQ(claim_id(*store, "late", kT0 + 2), "");
  store->complete("child-0", "w0", kT0 + 3, std::nullopt);
  EXPECT_EQ(claim_id(*store, "late", kT0 + 4), "");
  store->complete("child-49", "w49", kT0 + 5, std::nullopt);
  EXPECT_EQ(claim_id(*store, "late", kT0 + 6), "join");
}

TEST_P(StoreTest, LastCompletionMarkOnlyWithHeadCommit) {
  auto store = open();
  store->replace_workflow(workflow({task("a"), task("b"), task("c")}), ReplaceMode::kAlways);
  ASSERT_EQ(claim_id(*store, "w", kT0), "a");
  store->complete("a", "w", kT0 + 1, std::nullopt);
  EXPECT_EQ(store->completion_mark("w"), std::nullopt);

  ASSERT_EQ(claim_id(*store, "w", kT0 + 2), "b");
  store->complete("b", "w", kT0 + 3, "0123456789abcdef");
  auto mark = store->completion_mark("w");
  ASSERT_TRUE(mark.has_value());
  EXPECT_EQ(mark->task_id, "b");
  EXPECT_EQ(mark->commit, "0123456789abcdef");

  ASSERT_EQ(claim_id(*store, "w", kT0 + 4), "c");
  store->complete("c", "w", kT0 + 5, std::nullopt);
  mark = store->completion_mark("w");
  ASSERT_TRUE(mark.has_value());
  EXPECT_EQ(mark->task_id, "b");

  // It is durable.
  store.reset();
  mark = open()->completion_mark("w");
  ASSERT_TRUE(mark.has_value());
  EXPECT_EQ(mark->task_id, "b");
  EXPECT_EQ(mark->commit, "0123456789abcdef");
}

// Issue 13 item 10: A's completion must not become B's commit gate, and a replaced plan's
// marks must not name its tasks any more.
TEST_P(StoreTest, ClaimWithoutTaskSaysWhetherThePlanIsComplete) {
  auto store = open();
  EXPECT_TRUE(store->claim("w", kT0).plan_complete);  // no workflow: nothing will come
  store->replace_workflow(workflow({task("a"), task("b", {"a"})}), ReplaceMode::kAlways);
  ClaimResult first = store->claim("w1", kT0);
  ASSERT_TRUE(first.task.has_value());
  EXPECT_FALSE(first.plan_complete);
  ClaimResult blocked = store->claim("w2", kT0);  // b waits for w1's running a
  EXPECT_FALSE(blocked.task.has_value());
  EXPECT_FALSE(blocked.plan_complete);
  store->complete("a", "w1", kT0 + 1, std::nullopt);
  ASSERT_EQ(claim_id(*store, "w2", kT0 + 2), "b");
  store->complete("b", "w2", kT0 + 3, std::nullopt);
  ClaimResult done = store->claim("w1", kT0 + 4);
  EXPECT_FALSE(done.task.has_value());
  EXPECT_TRUE(done.plan_complete);

  // Blocked behind a failed task: nothing can run without an operator.
  Task failed = task("f");
  failed.status = TaskStatus::kFailed;
  store->replace_workflow(workflow({failed, task("g", {"f"})}), ReplaceMode::kAlways);
  EXPECT_TRUE(store->claim("w1", kT0 + 5).plan_complete);
}

TEST_P(StoreTest, BatchedClaimsGetDistinctTasks) {
  auto store = open();
  store->replace_workflow(workflow({task("a"), task("b"), task("c"), task("d", {"a"})}),
                          ReplaceMode::kAlways);
  std::vector<ClaimResult> results(4);
  std::vector<std::function<void()>> ops;
  for (int i = 0; i < 4; ++i)
    ops.push_back([&, i] { results[i] = store->claim("w" + std::to_string(i), kT0); });
  std::vector<std::exception_ptr> errors = run_batch(*store, ops);
  ASSERT_EQ(errors.size(), 4u);
  for (const auto& e : errors) EXPECT_EQ(e, nullptr);
  ASSERT_TRUE(results[0].task && results[1].task && results[2].task);
  EXPECT_EQ(results[0].task->id, "a");
  EXPECT_EQ(results[1].task->id, "b");
  EXPECT_EQ(results[2].task->id, "c");
  EXPECT_FALSE(results[3].task.has_value());

  // Committed, and visible to another connection.
  auto other = open();
  StatusCounts c = *other->status_counts();
  EXPECT_EQ(c.running, 3);
  EXPECT_EQ(c.pending, 1);
}

TEST_P(StoreTest, BatchUndoesAThrowingOpAlone) {
  auto store = open();
  store->replace_workflow(workflow({task("a"), task("b"), task("c"), task("d")}),
                          ReplaceMode::kAlways);
  ASSERT_EQ(claim_id(*store, "w0", kT0), "a");

  std::string first;
  std::vector<std::function<void()>> ops = {
      [&] { store->complete("a", "w0", kT0 + 1, "head-1"); },
      [&] { store->complete("nope", "w0", kT0 + 1, "head-2"); },  // throws inside the store
      [&] { first = claim_id(*store, "w1", kT0 + 1); },
      // Fails before its write (a mutation's write is its last step): nothing is written.
      [&] { throw std::runtime_error("worker went away"); },
      [&] { claim_id(*store, "w3", kT0 + 1); },
  };
  std::vector<std::exception_ptr> errors = run_batch(*store, ops);
  ASSERT_EQ(errors.size(), 5u);
  EXPECT_EQ(errors[0], nullptr);
  ASSERT_NE(errors[1], nullptr);
  EXPECT_EQ(rethrow_message(errors[1]), "Task nope not found");
  try {
    std::rethrow_exception(errors[1]);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kNotFound);
  }
  EXPECT_EQ(errors[2], nullptr);
  ASSERT_NE(errors[3], nullptr);
  EXPECT_EQ(rethrow_message(errors[3]), "worker went away");
  EXPECT_EQ(errors[4], nullptr);
  EXPECT_EQ(first, "b");

  const Workflow after = *open()->load();
  EXPECT_EQ(find(after, "a").status, TaskStatus::kCompleted);
  EXPECT_EQ(find(after, "b").claimed_by, "w1");
  // w2's op left nothing, so w3 took c.
  EXPECT_EQ(find(after, "c").claimed_by, "w3");
  EXPECT_EQ(find(after, "c").status, TaskStatus::kRunning);
  EXPECT_EQ(find(after, "d").status, TaskStatus::kPending);
  ASSERT_TRUE(store->completion_mark("w0").has_value());
  EXPECT_EQ(store->completion_mark("w0")->task_id, "a");
  EXPECT_EQ(store->completion_mark("w0")->commit, "head-1");
}

// A write that fails halfway inside a batch is undone whole, even when its op goes on: SQLite
// is made to refuse the second of its statements (or the only one) with a trigger.
TEST_P(StoreTest, BatchOpsSeeEarlierOpsOfTheBatch) {
  auto store = open();
  store->replace_workflow(workflow({task("a"), task("b", {"a"})}), ReplaceMode::kAlways);
  std::string second;
  std::optional<StatusCounts> counts;
  std::vector<std::exception_ptr> errors =
      run_batch(*store, {
                            [&] { claim_id(*store, "w1", kT0); },
                            [&] { store->complete("a", "w1", kT0 + 1, std::nullopt); },
                            [&] { second = claim_id(*store, "w2", kT0 + 2); },
                            [&] { counts = store->status_counts(); },
                        });
  for (const auto& e : errors) EXPECT_EQ(e, nullptr) << rethrow_message(e);
  EXPECT_EQ(second, "b");
  ASSERT_TRUE(counts.has_value());
  EXPECT_EQ(counts->completed, 1);
  EXPECT_EQ(counts->running, 1);
}

TEST_P(StoreTest, EmptyBatch) {
  auto store = open();
  EXPECT_TRUE(run_batch(*store, {}).empty());
  // The store is usable afterwards (no transaction left open).
  store->replace_workflow(workflow({task("a")}), ReplaceMode::kAlways);
  EXPECT_EQ(open()->load()->tasks.size(), 1u);
}

TEST_P(StoreTest, BatchNotVisibleToOthersUntilCommitted) {
  auto store = open();
  auto reader = open(StoreAccess::kReadOnly);
  store->replace_workflow(workflow({task("a")}), ReplaceMode::kAlways);
  std::optional<StatusCounts> seen_by_reader;
  run_batch(*store, {
                        [&] { claim_id(*store, "w1", kT0); },
                        [&] { seen_by_reader = reader->status_counts(); },
                    });
  ASSERT_TRUE(seen_by_reader.has_value());
  EXPECT_EQ(seen_by_reader->pending, 1);
  EXPECT_EQ(seen_by_reader->running, 0);
  EXPECT_EQ(reader->status_counts()->running, 1);
}

// ---------------------------------------------------------------------------------------------
// Files, connections, access.

TEST_P(StoreTest, DurableAcrossReopen) {
  const Workflow w = rich_workflow();
  {
    auto store = open();
    store->replace_workflow(w, ReplaceMode::kAlways);
  }
  {
    auto store = open();
    EXPECT_EQ(*store->load(), w);
    // zeta is completed, alpha running, mid failed, beta waits for alpha: omega is next.
    EXPECT_EQ(claim_id(*store, "w9", kT0 + 5), "omega");
  }
  auto store = open();
  const Task omega = find(store->load(), "omega");
  EXPECT_EQ(omega.status, TaskStatus::kRunning);
  EXPECT_EQ(omega.claimed_by, "w9");
  EXPECT_EQ(omega.started_at, kT0 + 5);
  ClaimResult again = store->claim("w9", kT0 + 6);
  ASSERT_TRUE(again.task);
  EXPECT_TRUE(again.is_retry);
  EXPECT_EQ(again.task->id, "omega");
  // The imported running task keeps its owner across the reopen too.
  ClaimResult w1 = store->claim("w1", kT0 + 7);
  ASSERT_TRUE(w1.task);
  EXPECT_EQ(w1.task->id, "alpha");
  EXPECT_TRUE(w1.is_retry);
}

TEST_P(StoreTest, TwoStoresOnOneFileSeeEachOthersWrites) {
  auto daemon = open();
  auto reader = open();
  EXPECT_EQ(reader->load(), std::nullopt);
  daemon->replace_workflow(workflow({task("a"), task("b"), task("c", {"a"})}),
                           ReplaceMode::kAlways);
  ASSERT_TRUE(reader->load().has_value());
  EXPECT_EQ(reader->load()->tasks.size(), 3u);

  EXPECT_EQ(claim_id(*daemon, "w1", kT0), "a");
  EXPECT_EQ(find(reader->load(), "a").claimed_by, "w1");
  // The other connection claims next and must not get "a" again.
  EXPECT_EQ(claim_id(*reader, "w2", kT0), "b");
  EXPECT_EQ(claim_id(*daemon, "w3", kT0), "");
  EXPECT_EQ(find(daemon->load(), "b").claimed_by, "w2");

  reader->complete("a", "w1", kT0 + 1, "h1");
  EXPECT_EQ(daemon->completion_mark("w1")->commit, "h1");
  EXPECT_EQ(claim_id(*daemon, "w3", kT0 + 2), "c");
  EXPECT_EQ(reader->status_counts()->running, 2);
  EXPECT_EQ(reader->status_counts()->completed, 1);
  daemon->complete("b", "w2", kT0 + 3, std::nullopt);
  EXPECT_EQ(reader->status_counts()->completed, 2);
  reader->complete("c", "w3", kT0 + 4, std::nullopt);
  EXPECT_FALSE(daemon->status_counts()->unfinished());
}

TEST_P(StoreTest, ReaderSeesWritesAfterItsOwnClaim) {
  // Each store leaves prepared statements behind after a claim; they must not pin an old
  // snapshot of the database.
  auto a = open();
  auto b = open();
  a->replace_workflow(workflow({task("x"), task("y"), task("z")}), ReplaceMode::kAlways);
  EXPECT_EQ(claim_id(*a, "wa", kT0), "x");
  EXPECT_EQ(claim_id(*b, "wb", kT0), "y");
  EXPECT_EQ(find(a->load(), "y").claimed_by, "wb");
  EXPECT_EQ(a->status_counts()->running, 2);
  a->complete("x", "wa", kT0 + 1, std::nullopt);
  EXPECT_EQ(find(b->load(), "x").status, TaskStatus::kCompleted);
  EXPECT_EQ(claim_id(*a, "wa", kT0 + 2), "z");
  EXPECT_EQ(claim_id(*b, "wc", kT0 + 2), "");
}

TEST_P(StoreTest, ReadOnlyStoreFollowsTheWriter) {
  auto writer = open();
  auto ro = open(StoreAccess::kReadOnly);
  EXPECT_EQ(ro->load(), std::nullopt);
  writer->replace_workflow(workflow({task("a")}), ReplaceMode::kAlways);
  ASSERT_TRUE(ro->load().has_value());
  EXPECT_EQ(ro->status_counts()->pending, 1);
  ASSERT_EQ(claim_id(*writer, "w", kT0), "a");
  EXPECT_EQ(ro->status_counts()->running, 1);
}

TEST_P(StoreTest, TextThatIsNotUtf8IsRefusedAsInvalid) {
  auto store = open();
  store->replace_workflow(workflow({task("a"), task("b", {"a"})}), ReplaceMode::kAlways);
  Task bad = task("c");
  bad.command = std::vector<std::string>{"echo", "\xff"};
  error_of(Error::Kind::kInvalidArgument,
           [&] { store->replace_workflow(workflow({bad}), ReplaceMode::kAlways); });
  EXPECT_EQ(store->load()->tasks.size(), 2u);  // the previous workflow stays
  ASSERT_EQ(claim_id(*store, "w", kT0), "a");
  error_of(Error::Kind::kInvalidArgument,
           [&] { store->complete("a", "w", kT0, std::string("head\xfe")); });
  EXPECT_EQ(find(store->load(), "a").status, TaskStatus::kRunning);  // nothing was written
}

INSTANTIATE_TEST_SUITE_P(Engines, StoreTest, test_support::all_store_engines(),
                         test_support::engine_name);

}  // namespace
}  // namespace harness
