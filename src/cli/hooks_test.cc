#include "cli/hooks.h"

#include <gtest/gtest.h>

namespace harness {
namespace {

StatusCounts counts(std::int64_t pending, std::int64_t running, std::int64_t completed) {
  StatusCounts c;
  c.pending = pending, c.running = running, c.completed = completed;
  return c;
}

TEST(SessionStartHook, ReportsProgressOrNothing) {
  EXPECT_EQ(session_start_output(std::nullopt), "{}");
  EXPECT_EQ(
      session_start_output(counts(5, 1, 2)),
      R"({"hookSpecificOutput": {"hookEventName": "SessionStart", "additionalContext": "Resuming workflow: task 2/8"}})");
}

TEST(CheckStateHook, DeniesOnlyWhileTasksAreUnfinished) {
  EXPECT_TRUE(check_state(std::nullopt).allow);
  EXPECT_TRUE(check_state(counts(0, 0, 3)).allow);
  StatusCounts failed_only = counts(0, 0, 2);
  failed_only.failed = 1;
  EXPECT_TRUE(check_state(failed_only).allow);
  HookDecision d = check_state(counts(1, 1, 2));
  EXPECT_FALSE(d.allow);
  EXPECT_EQ(d.reason, "Workflow in progress (2/4)");
}

class CheckCommitHook : public ::testing::Test {
 protected:
  Workflow workflow_holding(const std::string& worker) {
    Workflow w;
    w.tasks.push_back(Task{.id = "a", .status = TaskStatus::kCompleted});
    w.tasks.push_back(Task{.id = "b", .status = TaskStatus::kRunning, .claimed_by = worker});
    return w;
  }
  Store::CompletionMark mark{"a", "1111111111111111111111111111111111111111"};
};

TEST_F(CheckCommitHook, DeniesWhenHeadHasNotMovedSinceTheLastCompletion) {
  HookDecision d = check_commit(workflow_holding("me"), mark, mark.commit, "me");
  EXPECT_FALSE(d.allow);
  EXPECT_EQ(d.reason,
            "No commit since task a was completed (HEAD 111111111111); commit the work on b first");
}

TEST_F(CheckCommitHook, AllowsOnceHeadMoved) {
  EXPECT_TRUE(check_commit(workflow_holding("me"), mark, std::string(40, '2'), "me").allow);
}

TEST_F(CheckCommitHook, AllowsWhenThereIsNothingToGate) {
  EXPECT_TRUE(check_commit(std::nullopt, mark, mark.commit, "me").allow);  // no workflow
  EXPECT_TRUE(
      check_commit(workflow_holding("me"), std::nullopt, mark.commit, "me").allow);  // no mark
  EXPECT_TRUE(
      check_commit(workflow_holding("me"), mark, std::nullopt, "me").allow);  // HEAD unknown
  EXPECT_TRUE(
      check_commit(workflow_holding("other"), mark, mark.commit, "me").allow);  // holds no task
}

}  // namespace
}  // namespace harness
