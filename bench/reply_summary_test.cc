#include "reply_summary.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/task.h"
#include "protocol/envelope.h"
#include "protocol/request_codec.h"

namespace harness::bench {
namespace {

TEST(ReplySummary, ClaimThatGotATask) {
  Task task;
  task.id = "t\"7";
  task.dependencies = {"id", "is_retry"};  // look-alike values deeper down change nothing
  task.claimed_by = "ok";
  const std::string line =
      ok_reply(Json{{"task", task_to_json(task)}, {"is_retry", false}, {"is_reclaim", true}});
  const ReplySummary r = summarize_reply(line);
  EXPECT_TRUE(r.ok);
  EXPECT_TRUE(r.has_task);
  EXPECT_EQ(r.task_id, "t\"7");
  EXPECT_FALSE(r.is_retry);
  EXPECT_TRUE(r.is_reclaim);
}

TEST(ReplySummary, ClaimThatFoundNothing) {
  const ReplySummary r =
      summarize_reply(ok_reply(Json{{"task", nullptr}, {"is_retry", true}, {"is_reclaim", false}}));
  EXPECT_TRUE(r.ok);
  EXPECT_FALSE(r.has_task);
  EXPECT_EQ(r.task_id, "");
  EXPECT_TRUE(r.is_retry);
}

TEST(ReplySummary, ClaimCarriesItsLeaseAndWhetherThePlanIsComplete) {
  Task task;
  task.id = "a";
  const ReplySummary r = summarize_reply(ok_reply(Json{
      {"task", task_to_json(task)}, {"lease", "L1"}, {"plan_complete", false}, {"attempt", 1}}));
  EXPECT_TRUE(r.has_claim);
  EXPECT_EQ(r.lease, "L1");
  EXPECT_FALSE(r.plan_complete);
  EXPECT_TRUE(
      summarize_reply(ok_reply(Json{{"task", nullptr}, {"plan_complete", true}})).plan_complete);
}

TEST(ReplySummary, CompletionWithNextReadsTheClaimUnderNext) {
  Task task;
  task.id = "b";
  const std::string line = ok_reply(
      Json{{"task_id", "a"},
           {"next", {{"task", task_to_json(task)}, {"is_reclaim", true}, {"lease", "L2"}}}});
  const ReplySummary r = summarize_reply(line, ClaimAt::kNext);
  EXPECT_EQ(r.completed_id, "a");
  EXPECT_TRUE(r.has_claim);
  EXPECT_TRUE(r.has_task);
  EXPECT_EQ(r.task_id, "b");
  EXPECT_EQ(r.lease, "L2");
  EXPECT_TRUE(r.is_reclaim);
  const ReplySummary at_data = summarize_reply(line);  // "next" is not where a claim's data is
  EXPECT_FALSE(at_data.has_task);
  EXPECT_EQ(at_data.lease, "");
}

TEST(ReplySummary, CompletionWithoutNextHasNoClaim) {
  const ReplySummary r = summarize_reply(ok_reply(Json{{"task_id", "a"}}), ClaimAt::kNext);
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.completed_id, "a");
  EXPECT_FALSE(r.has_claim);
}

TEST(ReplySummary, ErrorEnvelope) {
  const ReplySummary r = summarize_reply(error_reply("Task x is not claimed by w"));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.message, "Task x is not claimed by w");
}

TEST(ReplySummary, InvalidJsonIsAnError) {
  EXPECT_THROW(summarize_reply(R"({"status":"ok")"), Error);
  EXPECT_THROW(summarize_reply(R"({"status":"ok"} trailing)"), Error);
}

}  // namespace
}  // namespace harness::bench
