#include "drain_worker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/json.h"
#include "protocol/envelope.h"
#include "protocol/request_codec.h"

namespace harness::bench {
namespace {

using std::chrono::microseconds;
using ::testing::HasSubstr;

Workflow two_tasks() {
  Workflow workflow;
  for (const char* id : {"a", "b"}) {
    Task task;
    task.id = id;
    workflow.tasks.push_back(task);
  }
  return workflow;
}

std::string claim_reply(const std::string& id, bool retry = false) {
  Task task;
  task.id = id;
  return ok_reply(Json{{"task", task_to_json(task)}, {"is_retry", retry}, {"is_reclaim", false}});
}

const std::string kNothingReady =
    ok_reply(Json{{"task", nullptr}, {"is_retry", false}, {"is_reclaim", false}});

class DrainWorkerTest : public ::testing::Test {
 protected:
  Workflow workflow_ = two_tasks();
  DrainRun run_{workflow_, std::chrono::seconds(60)};
  DrainWorker worker_{run_, 3};
};

TEST_F(DrainWorkerTest, ClaimsThenCompletesWhatTheClaimGot) {
  EXPECT_EQ(parse_json(worker_.request()),
            (Json{{"command", "task_claim"}, {"worker_id", worker_name(3)}}));
  EXPECT_EQ(worker_.on_reply(claim_reply("a"), 10), microseconds::zero());
  EXPECT_EQ(parse_json(worker_.request()),
            (Json{{"command", "task_complete"}, {"task_id", "a"}, {"worker_id", worker_name(3)}}));
  EXPECT_EQ(worker_.on_reply(ok_reply(Json::object()), 20), microseconds::zero());
  EXPECT_EQ(parse_json(worker_.request()).at("command"), "task_claim");
  EXPECT_EQ(run_.completed, 1u);
  EXPECT_FALSE(run_.over());
  EXPECT_EQ(worker_.claim_ns, std::vector<Nanos>{10});
  EXPECT_EQ(worker_.complete_ns, std::vector<Nanos>{20});
}

TEST_F(DrainWorkerTest, TheLastCompletionEndsTheRun) {
  for (const char* id : {"a", "b"}) {
    worker_.on_reply(claim_reply(id), 1);
    worker_.on_reply(ok_reply(Json::object()), 1);
  }
  EXPECT_TRUE(run_.over());
  EXPECT_NO_THROW(run_.ledger.verify_acks(workflow_));
}

TEST_F(DrainWorkerTest, BacksOffLongerAfterEachEmptyClaimAndAfreshAfterATask) {
  const microseconds first = worker_.on_reply(kNothingReady, 1);
  EXPECT_GT(first, microseconds::zero());
  EXPECT_EQ(worker_.on_reply(kNothingReady, 1), 2 * first);
  EXPECT_EQ(worker_.on_reply(kNothingReady, 1), 4 * first);
  for (int i = 0; i < 20; ++i) worker_.on_reply(kNothingReady, 1);
  const microseconds longest = worker_.on_reply(kNothingReady, 1);
  EXPECT_EQ(worker_.on_reply(kNothingReady, 1), longest);  // capped
  EXPECT_EQ(worker_.empty_claims, 25u);
  EXPECT_EQ(parse_json(worker_.request()).at("command"), "task_claim");

  worker_.on_reply(claim_reply("a"), 1);
  worker_.on_reply(ok_reply(Json::object()), 1);
  EXPECT_EQ(worker_.on_reply(kNothingReady, 1), first);
}

TEST_F(DrainWorkerTest, ATaskHandedOutAgainIsALostCompletion) {
  try {
    worker_.on_reply(claim_reply("a", /*retry=*/true), 1);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kIo);
    EXPECT_THAT(e.what(), HasSubstr("got a again as a retry or reclaim"));
  }
}

TEST_F(DrainWorkerTest, AnErrorReplyFailsWithTheDaemonsMessage) {
  worker_.on_reply(claim_reply("a"), 1);
  try {
    worker_.on_reply(error_reply("Task a is not claimed by w"), 1);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kConflict);
    EXPECT_THAT(e.what(), HasSubstr("task_complete of a failed: Task a is not claimed by w"));
  }
  EXPECT_EQ(run_.completed, 0u);
}

TEST_F(DrainWorkerTest, ATaskThePlanDoesNotHoldIsRefusedAtCompletion) {
  worker_.on_reply(claim_reply("zz"), 1);
  EXPECT_THROW(worker_.on_reply(ok_reply(Json::object()), 1), Error);
}

std::string claim_data_json(const std::string& id, const std::string& lease) {
  Task task;
  task.id = id;
  return Json{{"task", task_to_json(task)},
              {"is_retry", false},
              {"is_reclaim", false},
              {"plan_complete", false},
              {"lease", lease}}
      .dump();
}

std::string completed_with_next(const std::string& completed, const Json& next) {
  return ok_reply(Json{{"task_id", completed}, {"next", next}});
}

class NextWorkerTest : public ::testing::Test {
 protected:
  Workflow workflow_ = two_tasks();
  DrainRun run_{workflow_, std::chrono::seconds(60)};
  DrainWorker worker_{run_, 5, RequestMode::kNext};
};

TEST_F(NextWorkerTest, ClaimsOnceThenCompletesWithNextSendingTheLease) {
  EXPECT_EQ(parse_json(worker_.request()).at("command"), "task_claim");
  worker_.on_reply(ok_reply(parse_json(claim_data_json("a", "L1"))), 10);
  EXPECT_EQ(parse_json(worker_.request()), (Json{{"command", "task_complete"},
                                                 {"task_id", "a"},
                                                 {"lease", "L1"},
                                                 {"next", true},
                                                 {"worker_id", worker_name(5)}}));
  EXPECT_EQ(worker_.on_reply(completed_with_next("a", parse_json(claim_data_json("b", "L2"))), 20),
            microseconds::zero());
  EXPECT_EQ(parse_json(worker_.request()), (Json{{"command", "task_complete"},
                                                 {"task_id", "b"},
                                                 {"lease", "L2"},
                                                 {"next", true},
                                                 {"worker_id", worker_name(5)}}));
  EXPECT_EQ(run_.completed, 1u);
  EXPECT_EQ(worker_.claim_ns, std::vector<Nanos>{10});
  EXPECT_EQ(worker_.complete_ns, std::vector<Nanos>{20});
}

TEST_F(NextWorkerTest, NoNextTaskBacksOffAndClaimsAgainUntilThePlanIsComplete) {
  worker_.on_reply(ok_reply(parse_json(claim_data_json("a", "L1"))), 1);
  const Json nothing_yet = {{"task", nullptr}, {"plan_complete", false}};
  EXPECT_GT(worker_.on_reply(completed_with_next("a", nothing_yet), 1), microseconds::zero());
  EXPECT_EQ(parse_json(worker_.request()).at("command"), "task_claim");
  EXPECT_FALSE(worker_.finished());
  EXPECT_EQ(worker_.empty_claims, 1u);

  worker_.on_reply(ok_reply(parse_json(claim_data_json("b", "L2"))), 1);
  worker_.on_reply(completed_with_next("b", {{"task", nullptr}, {"plan_complete", true}}), 1);
  EXPECT_TRUE(worker_.finished());
  EXPECT_TRUE(run_.over());
  EXPECT_NO_THROW(run_.ledger.verify_acks(workflow_));
}

TEST_F(NextWorkerTest, ANextTaskHandedOutAgainIsALostCompletion) {
  worker_.on_reply(ok_reply(parse_json(claim_data_json("a", "L1"))), 1);
  Json again = parse_json(claim_data_json("b", "L2"));
  again["is_reclaim"] = true;
  EXPECT_THROW(worker_.on_reply(completed_with_next("a", again), 1), Error);
}

TEST_F(NextWorkerTest, AReplyWithoutNextIsAnError) {
  worker_.on_reply(ok_reply(parse_json(claim_data_json("a", "L1"))), 1);
  try {
    worker_.on_reply(ok_reply(Json{{"task_id", "a"}}), 1);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("the reply has no \"next\""));
  }
}

TEST(DrainRun, FailStopsTheRunAndKeepsTheFirstFailure) {
  const Workflow workflow = two_tasks();
  DrainRun run(workflow, std::chrono::seconds(60));
  run.fail("first");
  run.fail("second");
  EXPECT_TRUE(run.over());
  EXPECT_EQ(run.failure, "first");
}

TEST(DrainRun, PassingTheDeadlineIsAnError) {
  const Workflow workflow = two_tasks();
  DrainRun run(workflow, std::chrono::seconds(7));
  EXPECT_NO_THROW(run.check_deadline());  // none set yet
  run.deadline = DrainRun::Clock::now() - std::chrono::milliseconds(1);
  try {
    run.check_deadline();
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("did not finish within 7 s (0 of 2 tasks completed)"));
  }
}

}  // namespace
}  // namespace harness::bench
