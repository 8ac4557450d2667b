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
