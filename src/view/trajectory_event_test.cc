#include "view/trajectory_event.h"

#include <gtest/gtest.h>

namespace harness {
namespace {

TEST(TrajectoryEventTest, ReadsTheFieldsAndSummarisesTheRest) {
  const std::string line =
      R"({"ts":"2027-01-15T08:00:00.000000+00:00","event":"fail","task_id":"a","worker_id":"w1","attempt":3,"status":"failed","reason":"out of\nmemory"})";
  const auto e = parse_trajectory_event(line);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->ts, *parse_iso8601("2027-01-15T08:00:00Z"));
  EXPECT_EQ(e->kind, "fail");
  EXPECT_EQ(e->task_id, "a");
  EXPECT_EQ(e->worker_id, "w1");
  EXPECT_EQ(e->detail, "attempt 3, failed: out of memory");
  EXPECT_EQ(e->line, line);
}

TEST(TrajectoryEventTest, SummarisesCommands) {
  const auto e = parse_trajectory_event(
      R"({"ts":"2027-01-15T08:00:00Z","event":"exec","args":["make","test"],"returncode":2,"timed_out":false,"duration_ms":120})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->detail, "exit 2 in 120 ms: make test");
  EXPECT_TRUE(e->task_id.empty());
}

TEST(TrajectoryEventTest, SkipsWhatIsNotAnEvent) {
  for (const char* line :
       {"", "{", "[1]", R"({"event":"claim"})", R"({"ts":"yesterday","event":"claim"})",
        R"({"ts":"2027-01-15T08:00:00Z"})"})
    EXPECT_FALSE(parse_trajectory_event(line)) << line;
}

TEST(TrajectoryEventTest, KnowsWhichEventsStartANewPlan) {
  const auto import =
      parse_trajectory_event(R"({"ts":"2027-01-15T08:00:00Z","event":"plan_import","tasks":3})");
  ASSERT_TRUE(import);
  EXPECT_TRUE(starts_a_new_plan(*import));
  EXPECT_EQ(import->detail, "3 tasks");
}

}  // namespace
}  // namespace harness
