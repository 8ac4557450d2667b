#include "cli/hooks.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace harness {
namespace {

StatusCounts counts(std::int64_t pending, std::int64_t running, std::int64_t completed) {
  StatusCounts c;
  c.pending = pending, c.running = running, c.completed = completed;
  c.ready = pending;  // no task waits on another unless a test says so
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

TEST(CheckStateHook, WorkInProgressBesideFailuresSaysSo) {
  StatusCounts c = counts(1, 1, 2);
  c.failed = 2;
  const HookDecision d = check_state(c);
  EXPECT_FALSE(d.allow);
  EXPECT_EQ(d.reason.find("Workflow in progress (2/6, 2 failed (`harness task list`"), 0u)
      << d.reason;
  EXPECT_NE(session_start_output(c).find("Resuming workflow: task 2/6, 2 failed"),
            std::string::npos);
}

TEST(CheckStateHook, AllowsAndSaysSoWhenNothingCanRunBehindAFailedTask) {
  StatusCounts stuck = counts(2, 0, 1);
  stuck.ready = 0;
  stuck.failed = 1;
  EXPECT_TRUE(check_state(stuck).allow);
  EXPECT_EQ(
      session_start_output(stuck),
      R"({"hookSpecificOutput": {"hookEventName": "SessionStart", "additionalContext": "Workflow stuck: 1/4 tasks completed, 1 failed, and the 2 pending tasks wait on failed ones; nothing can run until a failed task is retried"}})");
  stuck.running = 1;  // a running task may still finish and release work
  EXPECT_FALSE(check_state(stuck).allow);
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

// Issue 13 item 19: a finished workflow is not "resumed", an empty one says nothing.
TEST(SessionStartHook, FinishedAndEmptyWorkflows) {
  StatusCounts finished = counts(0, 0, 2);
  EXPECT_EQ(
      session_start_output(finished),
      R"({"hookSpecificOutput": {"hookEventName": "SessionStart", "additionalContext": "Workflow complete: 2/2 tasks completed"}})");
  finished.failed = 1;
  EXPECT_NE(session_start_output(finished).find("2/3 tasks completed, 1 failed"),
            std::string::npos);
  EXPECT_EQ(session_start_output(counts(0, 0, 0)), "{}");
}

TEST(HookPayload, ReadsClaudeCodesDocumentedFields) {
  HookPayload stop = parse_hook_payload(
      R"({"session_id": "abc123", "transcript_path": "/t.jsonl", "cwd": "/w",
          "permission_mode": "default", "hook_event_name": "Stop", "stop_hook_active": true})");
  EXPECT_EQ(stop.session_id, "abc123");
  EXPECT_EQ(stop.cwd, "/w");
  EXPECT_EQ(stop.hook_event_name, "Stop");
  EXPECT_TRUE(stop.stop_hook_active);
  EXPECT_EQ(
      parse_hook_payload(R"({"hook_event_name": "SessionStart", "source": "compact"})").source,
      "compact");
  EXPECT_EQ(parse_hook_payload(R"({"hook_event_name": "PreCompact", "trigger": "auto"})").trigger,
            "auto");
  for (const char* bad : {"", "nope", "[]", R"({"stop_hook_active": 1})", R"({"cwd": []})"})
    EXPECT_THROW(parse_hook_payload(bad), Error) << bad;
}

TEST(HookPayload, SessionWorkerId) {
  EXPECT_EQ(session_worker_id("8f0c3a52-5a1e-4c7e-9d3b"), "claude-8f0c3a52-5a1");
  EXPECT_EQ(session_worker_id("a b/c"), "claude-a_b_c");
  EXPECT_EQ(session_worker_id(""), std::nullopt);
}

class StopHook : public ::testing::Test {
 protected:
  Workflow plan() {
    Workflow w;
    w.tasks.push_back(Task{.id = "a",
                           .description = "parse",
                           .status = TaskStatus::kRunning,
                           .started_at = 5,
                           .claimed_by = "me"});
    w.tasks.push_back(Task{.id = "b", .status = TaskStatus::kRunning, .claimed_by = "other"});
    return w;
  }
  std::string head = std::string(40, '1');
};

TEST_F(StopHook, BlocksWhileOneOfTheSessionsWorkersHoldsATask) {
  StopDecision d =
      stop_decision(plan(), {"session", "me"}, std::nullopt, head, false, std::nullopt);
  EXPECT_TRUE(d.block);
  EXPECT_NE(d.reason.find("task a (parse)"), std::string::npos);
  EXPECT_NE(d.reason.find("`harness task complete --id a`"), std::string::npos);
  EXPECT_EQ(d.reason.find("not committed"), std::string::npos);
  // Other workers' tasks never block it.
  EXPECT_FALSE(stop_decision(plan(), {"nobody"}, std::nullopt, head, false, std::nullopt).block);
  EXPECT_FALSE(stop_decision(std::nullopt, {"me"}, std::nullopt, head, false, std::nullopt).block);
}

TEST_F(StopHook, SaysWhenTheWorkIsNotCommitted) {
  Store::CompletionMark mark{"z", head};
  StopDecision d = stop_decision(plan(), {"me"}, mark, head, false, std::nullopt);
  EXPECT_TRUE(d.block);
  EXPECT_NE(d.reason.find("not committed"), std::string::npos);
}

TEST_F(StopHook, DoesNotLoopWhenNothingChanged) {
  StopDecision first = stop_decision(plan(), {"me"}, std::nullopt, head, false, std::nullopt);
  ASSERT_TRUE(first.block);
  // Continuing because of that block, nothing changed: let it stop.
  EXPECT_FALSE(stop_decision(plan(), {"me"}, std::nullopt, head, true, first.fingerprint).block);
  // Not continuing (a new turn), or something changed: block again.
  EXPECT_TRUE(stop_decision(plan(), {"me"}, std::nullopt, head, false, first.fingerprint).block);
  EXPECT_TRUE(
      stop_decision(plan(), {"me"}, std::nullopt, std::string(40, '2'), true, first.fingerprint)
          .block);
  Workflow renewed = plan();
  renewed.tasks[0].started_at = 6;
  EXPECT_TRUE(stop_decision(renewed, {"me"}, std::nullopt, head, true, first.fingerprint).block);
}

TEST_F(StopHook, SessionContextNamesWorkerTaskAndProgress) {
  Workflow w = plan();
  w.tasks[0].instructions = "use recursion";
  w.tasks.push_back(Task{.id = "c"});
  const std::string text = session_context(w, "me", {"me"}, std::nullopt);
  EXPECT_NE(text.find("you are worker me"), std::string::npos);
  EXPECT_NE(text.find("0/3 tasks completed, 2 running, 1 pending"), std::string::npos);
  EXPECT_NE(text.find("You hold task a: parse"), std::string::npos);
  EXPECT_NE(text.find("Instructions: use recursion"), std::string::npos);
  EXPECT_NE(session_context(w, "x", {"x"}, Assignment{"a", "parse"})
                .find("Before the compaction you held task a; it is no longer yours."),
            std::string::npos);
  EXPECT_EQ(session_context(Workflow{}, "me", {"me"}, std::nullopt), "");
  EXPECT_EQ(session_start_json(""), "{}");
}

TEST_F(StopHook, SessionContextNamesFailedTasksAndCountsWhatTheyBlock) {
  Workflow w = plan();
  w.tasks.push_back(Task{.id = "bad", .status = TaskStatus::kFailed});
  w.tasks.push_back(Task{.id = "next", .dependencies = {"bad"}});
  w.tasks.push_back(Task{.id = "last", .dependencies = {"next"}});
  const std::string text = session_context(w, "me", {"me"}, std::nullopt);
  EXPECT_NE(text.find("2 pending, 1 failed (bad) and 2 blocked behind them"), std::string::npos)
      << text;
}

TEST_F(StopHook, UncommittedWorkBlocksOnlyWhenItCanBeTheSessions) {
  const std::vector<std::string> dirty{" M src/a.cc", "?? notes.txt"};
  Workflow mine;  // nobody works
  mine.tasks.push_back(Task{.id = "a"});
  StopDecision d = stop_decision(mine, {"you"}, std::nullopt, head, false, std::nullopt, dirty);
  EXPECT_TRUE(d.block);
  EXPECT_NE(d.reason.find("not committed:  M src/a.cc, ?? notes.txt"), std::string::npos)
      << d.reason;
  EXPECT_NE(d.reason.find("`harness git add -A` then `harness git commit -m"), std::string::npos);
  // Others still work: the changes may be theirs, and their work never keeps this agent going.
  EXPECT_FALSE(
      stop_decision(plan(), {"you"}, std::nullopt, head, false, std::nullopt, dirty).block);
  EXPECT_FALSE(stop_decision(mine, {"you"}, std::nullopt, head, false, std::nullopt, {}).block);
  // Told once, nothing changed: let it stop; a new change blocks again.
  EXPECT_FALSE(stop_decision(mine, {"you"}, std::nullopt, head, true, d.fingerprint, dirty).block);
  EXPECT_TRUE(
      stop_decision(mine, {"you"}, std::nullopt, head, true, d.fingerprint, {" M src/a.cc"}).block);
}

TEST_F(StopHook, AHolderWithUncommittedChangesIsToldToCommitThenComplete) {
  const StopDecision d =
      stop_decision(plan(), {"me"}, std::nullopt, head, false, std::nullopt, {" M src/a.cc"});
  EXPECT_TRUE(d.block);
  EXPECT_NE(d.reason.find("Uncommitted changes:  M src/a.cc"), std::string::npos) << d.reason;
  EXPECT_NE(d.reason.find("`harness task complete --id a`"), std::string::npos);
  EXPECT_NE(d.reason.find("`harness task release --id a`"), std::string::npos);
}

TEST_F(StopHook, AssignmentCardHasEverythingToCarryOn) {
  Task t = plan().tasks[0];
  t.instructions = "use recursion";
  t.packet->success_criteria = "tests pass";
  t.packet->files_in_scope = std::vector<std::string>{"src/a.cc", "src/a.h"};
  t.lease_expires_at = 100'000'000;
  const std::string card = assignment_card(t, "me", 40'000'000);
  for (const char* part :
       {"Task: a\n", "Description: parse\n", "Instructions: use recursion\n",
        "Success criteria: tests pass\n", "Files in scope: src/a.cc src/a.h\n", "Lease: 60 s left",
        "`harness task complete --id a`", "`harness task fail --id a --reason \"why\"`",
        "`harness task release --id a`", "`harness task heartbeat --id a`"})
    EXPECT_NE(card.find(part), std::string::npos) << part << "\n" << card;
  // A shell that works under another id gets commands that name the holder.
  EXPECT_NE(assignment_card(t, "shell", 0).find("`HARNESS_WORKER_ID=me harness task complete"),
            std::string::npos);
  Workflow w = plan();
  w.tasks[0] = t;
  const std::string context = session_context(w, "me", {"me"}, std::nullopt, 40'000'000);
  EXPECT_NE(context.find("== harness assignment card =="), std::string::npos);
  EXPECT_EQ(context.find("You hold task a"), std::string::npos);
}

}  // namespace
}  // namespace harness
