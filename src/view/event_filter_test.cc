#include "view/event_filter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"

namespace harness {
namespace {

using ::testing::HasSubstr;

constexpr Micros kNow = 1'800'000'000LL * kMicrosPerSecond;

TEST(EventFilterTest, EveryCriterionGivenMustHold) {
  const auto e = parse_trajectory_event(
      R"({"ts":"2027-01-15T08:00:00.000000+00:00","event":"claim","task_id":"a","worker_id":"w1"})");
  ASSERT_TRUE(e);
  EXPECT_TRUE(EventFilter{}.matches(*e));
  EXPECT_TRUE((EventFilter{{"a", "b"}, {}, {}, {}}.matches(*e)));
  EXPECT_FALSE((EventFilter{{"b"}, {}, {}, {}}.matches(*e)));
  EXPECT_TRUE((EventFilter{{"a"}, {"w1"}, {"claim"}, {}}.matches(*e)));
  EXPECT_FALSE((EventFilter{{"a"}, {"w2"}, {"claim"}, {}}.matches(*e)));
  EXPECT_FALSE((EventFilter{{}, {}, {"complete"}, {}}.matches(*e)));
  EXPECT_TRUE((EventFilter{{}, {}, {}, e->ts}.matches(*e)));
  EXPECT_FALSE((EventFilter{{}, {}, {}, e->ts + 1}.matches(*e)));
}

TEST(EventFilterTest, SinceTakesDurationsBackFromNow) {
  EXPECT_EQ(parse_since("90s", kNow), kNow - 90 * kMicrosPerSecond);
  EXPECT_EQ(parse_since("10m", kNow), kNow - 600 * kMicrosPerSecond);
  EXPECT_EQ(parse_since("2h", kNow), kNow - 7200 * kMicrosPerSecond);
  EXPECT_EQ(parse_since("1d", kNow), kNow - 86400 * kMicrosPerSecond);
  EXPECT_EQ(parse_since("1h30m", kNow), kNow - 5400 * kMicrosPerSecond);
}

TEST(EventFilterTest, SinceTakesIsoTimesAndDates) {
  EXPECT_EQ(parse_since("2026-12-07T10:00:00Z", kNow), *parse_iso8601("2026-12-07T10:00:00Z"));
  EXPECT_EQ(parse_since("2026-12-07 10:00:00+01:00", kNow), *parse_iso8601("2026-12-07T09:00:00Z"));
  EXPECT_EQ(parse_since("2026-12-07", kNow), *parse_iso8601("2026-12-07T00:00:00Z"));
}

TEST(EventFilterTest, ABadSinceSaysWhatIsAccepted) {
  for (const char* bad : {"", "10", "m", "10x", "yesterday", "2026-13-45", "99999999999999999d"}) {
    try {
      parse_since(bad, kNow);
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr("--since"));
      EXPECT_THAT(e.what(), HasSubstr("10m"));
    }
  }
}

}  // namespace
}  // namespace harness
