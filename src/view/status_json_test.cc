#include "view/status_json.h"

#include <gtest/gtest.h>

namespace harness {
namespace {

constexpr Micros kNow = 1'800'000'000LL * kMicrosPerSecond;

TEST(StatusJsonTest, KeepsTheOldCountsAndAddsTheView) {
  Workflow w;
  Task a;
  a.id = "a";
  a.status = TaskStatus::kFailed;
  a.attempts = 3;
  a.last_error = "boom";
  Task b;
  b.id = "b";
  b.dependencies = {"a"};
  Task c;
  c.id = "c";
  c.status = TaskStatus::kRunning;
  c.claimed_by = "w1";
  c.lease_expires_at = kNow + 30 * kMicrosPerSecond;
  w.tasks = {a, b, c};
  const Json j = status_view_to_json(compute_status_view(w, {}, kNow));
  EXPECT_EQ(j["pending"], 1);
  EXPECT_EQ(j["running"], 1);
  EXPECT_EQ(j["failed"], 1);
  EXPECT_EQ(j["completed"], 0);
  EXPECT_EQ(j["total"], 3);
  EXPECT_EQ(j["blocked"], 1);
  EXPECT_EQ(j["ready"], 0);
  EXPECT_EQ(j["running_tasks"][0]["worker_id"], "w1");
  EXPECT_EQ(j["running_tasks"][0]["lease_seconds_left"], 30.0);
  EXPECT_EQ(j["failed_tasks"][0]["last_error"], "boom");
  EXPECT_EQ(j["failed_tasks"][0]["blocks"], 1);
  EXPECT_EQ(j["blocked_tasks"][0]["blocked_by"], Json::array({"a"}));
  EXPECT_TRUE(j["throughput"]["eta_seconds"].is_null());
  EXPECT_EQ(j["now"], format_iso8601(kNow));
}

TEST(StatusJsonTest, BoundsTheListsButNotTheCounts) {
  Workflow w;
  for (int i = 0; i < 5; ++i) {
    Task t;
    t.id = "t" + std::to_string(i);
    t.status = TaskStatus::kFailed;
    w.tasks.push_back(t);
  }
  const Json j = status_view_to_json(compute_status_view(w, {}, kNow), 2);
  EXPECT_EQ(j["failed_tasks"].size(), 2u);
  EXPECT_EQ(j["failed"], 5);
}

}  // namespace
}  // namespace harness
