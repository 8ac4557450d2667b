// The lease state machine of DESIGN §2b on every store engine, with the time given (no sleeps):
// every transition from every state, fencing after a reclaim and after a retry, attempts and
// backoff, failure on expiry, blocked tasks, priority and roles, and what a claim says when
// nothing is left.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "testing/error_of.h"
#include "testing/store_engines.h"

namespace harness {
namespace {

using test_support::error_of;

using ::testing::HasSubstr;

constexpr Micros kT0 = 1'700'000'000'000'000;
constexpr Micros kSecond = kMicrosPerSecond;

Task task(std::string id, std::vector<std::string> deps = {}) {
  Task t;
  t.id = std::move(id);
  t.dependencies = std::move(deps);
  t.timeout_seconds = 60;
  return t;
}

class LeaseTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<test_support::StoreEngine> engine = test_support::make_store_engine(GetParam());
  std::unique_ptr<BatchingStore> opened = engine->open();
  BatchingStore& store = *opened;

  void plan(std::vector<Task> tasks) {
    store.replace_workflow(Workflow{std::move(tasks)}, ReplaceMode::kAlways);
  }
  Task get(const std::string& id) {
    const std::optional<Workflow> w = store.load();
    for (const Task& t : w->tasks)
      if (t.id == id) return t;
    ADD_FAILURE() << "no task " << id;
    return {};
  }
  std::string claimed(const std::string& worker, Micros now, ClaimFilter filter = {}) {
    const ClaimResult r = store.claim(worker, now, filter);
    return r.task ? r.task->id : "";
  }
};

TEST_P(LeaseTest, AClaimGivesALeaseTokenAndTheFirstAttempt) {
  plan({task("a")});
  const ClaimResult c = store.claim("w1", kT0);
  ASSERT_TRUE(c.task);
  EXPECT_EQ(c.attempt, 1);
  EXPECT_EQ(c.lease.size(), 16u);
  EXPECT_EQ(c.task->lease_expires_at, kT0 + 60 * kSecond);
  EXPECT_EQ(get("a").lease_expires_at, kT0 + 60 * kSecond);
  // Claiming again renews the same lease: same token, same attempt.
  const ClaimResult again = store.claim("w1", kT0 + 10 * kSecond);
  EXPECT_TRUE(again.is_retry);
  EXPECT_EQ(again.lease, c.lease);
  EXPECT_EQ(again.attempt, 1);
  EXPECT_EQ(again.task->lease_expires_at, kT0 + 70 * kSecond);
}

TEST_P(LeaseTest, ACompletionWithASupersededLeaseIsRefusedEvenFromTheSameWorker) {
  plan({task("a")});
  const ClaimResult first = store.claim("w1", kT0);
  // w1's lease expires; w2 reclaims; w1 restarts under its old name and claims again.
  const ClaimResult second = store.claim("w2", kT0 + 61 * kSecond);
  ASSERT_TRUE(second.is_reclaim);
  EXPECT_NE(second.lease, first.lease);
  EXPECT_EQ(second.attempt, 2);
  const ClaimResult restarted = store.claim("w1", kT0 + 62 * kSecond);  // nothing left for w1
  EXPECT_FALSE(restarted.task);
  EXPECT_THAT(
      error_of(Error::Kind::kConflict,
               [&] {
                 store.complete("a", Holder{"w1", first.lease}, kT0 + 62 * kSecond, std::nullopt);
               }),
      HasSubstr("Task a: lease superseded"));
  // Had w2 been restarted under its old name with w1's token, the same.
  EXPECT_THAT(
      error_of(Error::Kind::kConflict,
               [&] {
                 store.complete("a", Holder{"w2", first.lease}, kT0 + 62 * kSecond, std::nullopt);
               }),
      HasSubstr("Task a: lease superseded"));
  store.complete("a", Holder{"w2", second.lease}, kT0 + 63 * kSecond, std::nullopt);
}

TEST_P(LeaseTest, AWorkerBackUnderItsOldNameAfterItsLeaseRanOutIsANewHolder) {
  plan({task("a")});
  const ClaimResult first = store.claim("w1", kT0);
  // w1 dies; a new agent starts under the name w1 after the lease ran out and claims.
  const ClaimResult restarted = store.claim("w1", kT0 + 61 * kSecond);
  ASSERT_TRUE(restarted.task);
  EXPECT_TRUE(restarted.is_reclaim);
  EXPECT_FALSE(restarted.is_retry);
  EXPECT_EQ(restarted.attempt, 2);
  EXPECT_NE(restarted.lease, first.lease);
  EXPECT_EQ(get("a").attempts, 1);
  // The old process, still around, cannot complete with its token.
  EXPECT_THAT(
      error_of(Error::Kind::kConflict,
               [&] {
                 store.complete("a", Holder{"w1", first.lease}, kT0 + 62 * kSecond, std::nullopt);
               }),
      HasSubstr("Task a: lease superseded"));
  // Within its lease, claiming again is a renewal with the same token.
  const ClaimResult renewed = store.claim("w1", kT0 + 70 * kSecond);
  EXPECT_TRUE(renewed.is_retry);
  EXPECT_EQ(renewed.lease, restarted.lease);
  store.complete("a", Holder{"w1", restarted.lease}, kT0 + 71 * kSecond, std::nullopt);
}

TEST_P(LeaseTest, EveryChangeByAHolderChecksTheLease) {
  plan({task("a")});
  const ClaimResult old = store.claim("w1", kT0);
  const ClaimResult now = store.claim("w2", kT0 + 61 * kSecond);  // reclaims a
  ASSERT_EQ(now.task->id, "a");
  const Holder stale{"w1", old.lease};
  const Holder stale_same_name{"w2", old.lease};
  for (const Holder& h : {stale, stale_same_name}) {
    const auto superseded = [&](auto&& change) {
      EXPECT_THAT(error_of(Error::Kind::kConflict, change), HasSubstr("Task a: lease superseded"));
    };
    superseded([&] { store.complete("a", h, kT0 + 62 * kSecond, std::nullopt); });
    superseded([&] { store.heartbeat("a", h, kT0 + 62 * kSecond); });
    superseded([&] { store.release("a", h); });
    superseded([&] { store.fail("a", h, "oops", kT0 + 62 * kSecond); });
  }
  // The current holder's token works; without a token, ownership decides (the seed flows).
  EXPECT_EQ(store.heartbeat("a", Holder{"w2", now.lease}, kT0 + 70 * kSecond), kT0 + 130 * kSecond);
  EXPECT_THAT(error_of(Error::Kind::kConflict,
                       [&] { store.complete("a", "w1", kT0 + 71 * kSecond, std::nullopt); }),
              HasSubstr("Task a is not claimed by w1"));
  store.complete("a", Holder{"w2", now.lease}, kT0 + 72 * kSecond, std::nullopt);
  EXPECT_THAT(error_of(Error::Kind::kConflict,
                       [&] {
                         store.complete("a", Holder{"w2", now.lease}, kT0, std::nullopt);
                       }),
              HasSubstr("Task a is already completed"));
  EXPECT_THAT(error_of(Error::Kind::kNotFound, [&] { store.heartbeat("zz", "w2", kT0); }),
              HasSubstr("Task zz not found"));
}

TEST_P(LeaseTest, AHeartbeatRenewsTheLeaseAndLeavesTheStartAlone) {
  plan({task("a")});
  const ClaimResult c = store.claim("w1", kT0);
  EXPECT_EQ(store.heartbeat("a", Holder{"w1", c.lease}, kT0 + 50 * kSecond), kT0 + 110 * kSecond);
  EXPECT_EQ(get("a").started_at, kT0);
  EXPECT_EQ(get("a").lease_expires_at, kT0 + 110 * kSecond);
  EXPECT_EQ(claimed("w2", kT0 + 100 * kSecond), "");  // not expired: the heartbeat counted
  EXPECT_EQ(claimed("w2", kT0 + 111 * kSecond), "a");
}

TEST_P(LeaseTest, AReleaseReturnsTheTaskWithoutCountingAnAttempt) {
  plan({task("a")});
  const ClaimResult c = store.claim("w1", kT0);
  store.release("a", Holder{"w1", c.lease});
  Task a = get("a");
  EXPECT_EQ(a.status, TaskStatus::kPending);
  EXPECT_EQ(a.claimed_by, std::nullopt);
  EXPECT_EQ(a.attempts, 0);
  const ClaimResult next = store.claim("w2", kT0 + kSecond);
  EXPECT_EQ(next.attempt, 1);
  EXPECT_NE(next.lease, c.lease);
  // The released lease is over.
  EXPECT_THAT(error_of(Error::Kind::kConflict,
                       [&] {
                         store.release("a", Holder{"w1", c.lease});
                       }),
              HasSubstr("lease superseded"));
}

TEST_P(LeaseTest, FailuresBackOffExponentiallyThenFailTheTask) {
  Task a = task("a");
  a.retry_backoff_seconds = 5;
  plan({a});
  ClaimResult c = store.claim("w1", kT0);
  FailResult f = store.fail("a", Holder{"w1", c.lease}, "tests red", kT0 + kSecond);
  EXPECT_EQ(f.attempt, 1);
  EXPECT_EQ(f.status, TaskStatus::kPending);
  EXPECT_EQ(f.retry_at, kT0 + 6 * kSecond);  // 5 s after the failure
  EXPECT_EQ(get("a").last_error, "tests red");
  EXPECT_EQ(claimed("w2", kT0 + 5 * kSecond), "");  // backing off
  c = store.claim("w2", kT0 + 6 * kSecond);
  ASSERT_TRUE(c.task);
  EXPECT_EQ(c.attempt, 2);
  EXPECT_EQ(c.task->retry_at, std::nullopt);
  f = store.fail("a", Holder{"w2", c.lease}, "still red", kT0 + 10 * kSecond);
  EXPECT_EQ(f.retry_at, kT0 + 20 * kSecond);  // 10 s: doubled
  c = store.claim("w3", kT0 + 20 * kSecond);
  EXPECT_EQ(c.attempt, 3);
  f = store.fail("a", Holder{"w3", c.lease}, "red again", kT0 + 21 * kSecond);
  EXPECT_EQ(f.status, TaskStatus::kFailed);  // max_attempts 3
  EXPECT_EQ(f.retry_at, std::nullopt);
  EXPECT_EQ(get("a").status, TaskStatus::kFailed);
  EXPECT_EQ(get("a").attempts, 3);
  EXPECT_EQ(get("a").last_error, "red again");
  const ClaimResult none = store.claim("w4", kT0 + 1000 * kSecond);
  EXPECT_FALSE(none.task);
  EXPECT_TRUE(none.plan_complete);
}

TEST_P(LeaseTest, AnExpiredLeaseCountsAsAnAttemptAndTheLastOneFailsTheTask) {
  Task poison = task("poison");
  poison.max_attempts = 2;
  plan({poison, task("after", {"poison"}), task("other")});
  EXPECT_EQ(claimed("w1", kT0), "poison");
  EXPECT_EQ(claimed("w2", kT0), "other");
  store.complete("other", "w2", kT0 + kSecond, std::nullopt);
  const ClaimResult second = store.claim("w3", kT0 + 61 * kSecond);
  EXPECT_TRUE(second.is_reclaim);
  EXPECT_EQ(second.attempt, 2);
  EXPECT_EQ(get("poison").attempts, 1);
  // The second holder dies too: that was the last attempt.
  const ClaimResult after = store.claim("w4", kT0 + 200 * kSecond);
  EXPECT_FALSE(after.task);
  ASSERT_EQ(after.failed_on_expiry.size(), 1u);
  EXPECT_EQ(after.failed_on_expiry[0].id, "poison");
  EXPECT_TRUE(after.plan_complete);  // "after" is blocked behind a failed task
  const Task failed = get("poison");
  EXPECT_EQ(failed.status, TaskStatus::kFailed);
  EXPECT_EQ(failed.attempts, 2);
  EXPECT_THAT(failed.last_error.value_or(""), HasSubstr("the lease of w3 expired"));
  const Workflow w = *store.load();
  EXPECT_EQ(BlockedBy(w).of(w.tasks[1]), std::vector<std::string>{"poison"});
}

TEST_P(LeaseTest, ARetryMakesAFailedTaskAndWhatItBlockedClaimableWithANewLease) {
  Task a = task("a");
  a.max_attempts = 1;
  plan({a, task("b", {"a"})});
  const ClaimResult c = store.claim("w1", kT0);
  EXPECT_EQ(store.fail("a", Holder{"w1", c.lease}, "no", kT0).status, TaskStatus::kFailed);
  EXPECT_THAT(error_of(Error::Kind::kConflict, [&] { store.retry("b"); }),
              HasSubstr("Task b is pending, not failed"));
  store.retry("a");
  EXPECT_EQ(get("a").attempts, 0);
  const ClaimResult again = store.claim("w1", kT0 + kSecond);
  ASSERT_TRUE(again.task);
  EXPECT_EQ(again.attempt, 1);
  EXPECT_NE(again.lease, c.lease);
  EXPECT_THAT(error_of(Error::Kind::kConflict,
                       [&] {
                         store.complete("a", Holder{"w1", c.lease}, kT0, std::nullopt);
                       }),
              HasSubstr("lease superseded"));
  store.complete("a", Holder{"w1", again.lease}, kT0 + 2 * kSecond, std::nullopt);
  EXPECT_EQ(claimed("w1", kT0 + 3 * kSecond), "b");
}

TEST_P(LeaseTest, ForceCompletesATaskNobodyHoldsOrSomeoneElseHolds) {
  plan({task("a"), task("b"), task("c", {"a", "b"})});
  EXPECT_EQ(claimed("w1", kT0), "a");
  store.complete("a", "operator", kT0, std::nullopt, CompleteOptions{.force = true});
  store.complete("b", "operator", kT0, std::nullopt, CompleteOptions{.force = true});
  EXPECT_THAT(
      error_of(Error::Kind::kConflict, [&] { store.complete("a", "w1", kT0, std::nullopt); }),
      HasSubstr("already completed"));
  EXPECT_EQ(claimed("w2", kT0), "c");
}

TEST_P(LeaseTest, VerificationCommandsAreReturnedBeforeAnythingChanges) {
  Task a = task("a");
  a.packet->verification_commands = VerificationCommands{{"make", "test"}, {"true"}};
  plan({a});
  EXPECT_EQ(claimed("w1", kT0), "a");
  const auto commands =
      store.complete("a", "w1", kT0, std::nullopt, CompleteOptions{.verify = true});
  ASSERT_TRUE(commands);
  EXPECT_EQ(*commands, (VerificationCommands{{"make", "test"}, {"true"}}));
  EXPECT_EQ(get("a").status, TaskStatus::kRunning);
  // Another worker learns nothing: the holder check comes first.
  EXPECT_THAT(
      error_of(
          Error::Kind::kConflict,
          [&] { store.complete("a", "w2", kT0, std::nullopt, CompleteOptions{.verify = true}); }),
      HasSubstr("not claimed by w2"));
  EXPECT_FALSE(store.complete("a", "w1", kT0, std::nullopt));
  EXPECT_EQ(get("a").status, TaskStatus::kCompleted);
}

TEST_P(LeaseTest, PriorityOrdersClaimsThenPlanOrder) {
  Task low = task("low"), high = task("high"), mid1 = task("mid1"), mid2 = task("mid2");
  low.priority = -1;
  high.priority = 10;
  mid1.priority = mid2.priority = 5;
  plan({low, mid1, high, mid2, task("zero")});
  std::vector<std::string> order;
  for (int i = 0; i < 5; ++i) order.push_back(claimed("w" + std::to_string(i), kT0));
  EXPECT_EQ(order, (std::vector<std::string>{"high", "mid1", "mid2", "zero", "low"}));
}

TEST_P(LeaseTest, AWorkerOfARoleTakesTasksOfItsRoleOrNoneAndOthersTakeAny) {
  Task review = task("review"), build = task("build"), plain = task("plain");
  review.role = "reviewer";
  build.role = "builder";
  review.priority = 1;
  plan({build, plain, review});
  EXPECT_EQ(claimed("r1", kT0, {"reviewer"}), "review");
  EXPECT_EQ(claimed("r2", kT0, {"reviewer"}), "plain");
  EXPECT_EQ(claimed("r3", kT0, {"reviewer"}), "");  // build is a builder's
  EXPECT_EQ(claimed("any", kT0), "build");
}

TEST_P(LeaseTest, AnExpiredTaskOfAnotherRoleIsNotReclaimed) {
  Task build = task("build");
  build.role = "builder";
  plan({build});
  EXPECT_EQ(claimed("b1", kT0, {"builder"}), "build");
  EXPECT_EQ(claimed("r1", kT0 + 100 * kSecond, {"reviewer"}), "");
  EXPECT_EQ(claimed("b2", kT0 + 100 * kSecond, {"builder"}), "build");
}

TEST_P(LeaseTest, PlanCompleteOnlyWhenNothingCanRunWithoutAnOperator) {
  Task a = task("a");
  a.max_attempts = 1;
  plan({a, task("b")});
  EXPECT_EQ(claimed("w1", kT0), "a");
  EXPECT_EQ(claimed("w2", kT0), "b");
  EXPECT_FALSE(store.claim("w3", kT0).plan_complete);  // two running
  store.fail("a", "w1", "x", kT0);
  EXPECT_FALSE(store.claim("w3", kT0).plan_complete);  // b still running
  store.complete("b", "w2", kT0, std::nullopt);
  EXPECT_TRUE(store.claim("w3", kT0).plan_complete);
  // A task backing off is work to come.
  Task c = task("c");
  c.retry_backoff_seconds = 30;
  store.add_task(c);
  EXPECT_EQ(claimed("w4", kT0), "c");
  store.fail("c", "w4", "x", kT0);
  const ClaimResult waiting = store.claim("w5", kT0 + kSecond);
  EXPECT_FALSE(waiting.task);
  EXPECT_FALSE(waiting.plan_complete);
  EXPECT_EQ(store.next_deadline(), kT0 + 30 * kSecond);
}

TEST_P(LeaseTest, NextDeadlineIsTheEarliestLeaseExpiryOrBackoffEnd) {
  plan({task("a"), task("b")});
  EXPECT_EQ(store.next_deadline(), std::nullopt);
  EXPECT_EQ(claimed("w1", kT0), "a");
  EXPECT_EQ(claimed("w2", kT0 + 5 * kSecond), "b");
  EXPECT_EQ(store.next_deadline(), kT0 + 60 * kSecond);
}

TEST_P(LeaseTest, AddedTasksJoinTheLiveGraph) {
  plan({task("a")});
  Task b = task("b", {"a"});
  store.add_task(b);
  EXPECT_THAT(error_of(Error::Kind::kConflict, [&] { store.add_task(b); }),
              HasSubstr("Duplicate task id: b"));
  EXPECT_THAT(
      error_of(Error::Kind::kInvalidArgument, [&] { store.add_task(task("c", {"ghost"})); }),
      HasSubstr("Missing dependency: ghost (required by c)"));
  EXPECT_EQ(claimed("w1", kT0), "a");
  EXPECT_EQ(claimed("w2", kT0), "");  // b waits for a
  store.complete("a", "w1", kT0, std::nullopt);
  EXPECT_EQ(claimed("w2", kT0), "b");
  store.add_task(task("d", {"a"}));  // a is completed: d is ready at once
  EXPECT_EQ(claimed("w3", kT0), "d");
  EXPECT_EQ(store.load()->tasks.back().id, "d");
}

TEST_P(LeaseTest, AResetLeavesNoWorkflow) {
  Workflow w{{task("a")}, "ship it"};
  store.replace_workflow(w, ReplaceMode::kAlways);
  EXPECT_EQ(store.load()->goal, "ship it");
  store.reset();
  EXPECT_EQ(store.load(), std::nullopt);
  EXPECT_THAT(error_of(Error::Kind::kNotFound, [&] { store.add_task(task("x")); }),
              HasSubstr("No active workflow"));
}

TEST_P(LeaseTest, ExecByTheHolderRenewsItsLeases) {
  plan({task("a"), task("b")});
  EXPECT_EQ(claimed("w1", kT0), "a");
  EXPECT_EQ(store.renew_leases("w1", kT0 + 50 * kSecond), 1);
  EXPECT_EQ(store.renew_leases("nobody", kT0 + 50 * kSecond), 0);
  EXPECT_EQ(get("a").lease_expires_at, kT0 + 110 * kSecond);
}

TEST_P(LeaseTest, TheTaskPacketAndSchedulingFieldsAreStoredAndReturnedOnClaim) {
  Task a = task("a");
  a.priority = 3;
  a.role = "builder";
  a.max_attempts = 7;
  a.retry_backoff_seconds = 2;
  a.packet->model = "opus";
  a.packet->files_in_scope = std::vector<std::string>{"src/**"};
  a.packet->verification_commands = VerificationCommands{{"true"}};
  plan({a});
  const ClaimResult c = store.claim("w", kT0, {"builder"});
  ASSERT_TRUE(c.task);
  EXPECT_EQ(c.task->packet, a.packet);
  EXPECT_EQ(c.task->priority, 3);
  EXPECT_EQ(c.task->role, "builder");
  EXPECT_EQ(c.task->max_attempts, 7);
  EXPECT_EQ(c.task->retry_backoff_seconds, 2);
  EXPECT_EQ(get("a").packet, a.packet);
}

INSTANTIATE_TEST_SUITE_P(Engines, LeaseTest, test_support::all_store_engines(),
                         test_support::engine_name);
TEST_P(LeaseTest, AClaimRecordsItsWorktreeWhichGoesWithTheHolder) {
  plan({task("a"), task("b")});
  const ClaimResult c = store.claim("w1", kT0, {}, std::string("/r/proj--a"));
  EXPECT_EQ(c.task->worktree, "/r/proj--a");
  EXPECT_EQ(get("a").worktree, "/r/proj--a");
  // A renewal without one keeps it; with one, takes it.
  EXPECT_EQ(store.claim("w1", kT0 + kSecond).task->worktree, "/r/proj--a");
  EXPECT_EQ(store.claim("w1", kT0 + 2 * kSecond, {}, std::string("/r/x")).task->worktree, "/r/x");
  // Pending again: no holder, no worktree; a new holder without one records none.
  store.release("a", "w1");
  EXPECT_EQ(get("a").worktree, std::nullopt);
  EXPECT_EQ(store.claim("w2", kT0 + 3 * kSecond).task->worktree, std::nullopt);
  // A reclaim after expiry takes the new holder's.
  EXPECT_EQ(store.claim("w3", kT0 + 3 * kSecond, {}, std::string("/r/b")).task->id, "b");
  const ClaimResult reclaimed = store.claim("w4", kT0 + 100 * kSecond, {}, std::string("/r/c"));
  EXPECT_TRUE(reclaimed.is_reclaim);
  EXPECT_EQ(reclaimed.task->worktree, "/r/c");
  EXPECT_EQ(get(reclaimed.task->id).worktree, "/r/c");
}

}  // namespace
}  // namespace harness
