#include "core/clock.h"

#include <gtest/gtest.h>

namespace harness {
namespace {

TEST(Iso8601, FormatsUtcWithMicroseconds) {
  EXPECT_EQ(format_iso8601(0), "1970-01-01T00:00:00.000000+00:00");
  EXPECT_EQ(format_iso8601(1'700'000'000'123'456), "2023-11-14T22:13:20.123456+00:00");
  EXPECT_EQ(format_iso8601(-1), "1969-12-31T23:59:59.999999+00:00");
}

TEST(Iso8601, FormatsEveryFieldWithItsPadding) {
  EXPECT_EQ(format_iso8601(*parse_iso8601("0001-02-03T04:05:06.000007Z")),
            "0001-02-03T04:05:06.000007+00:00");
  EXPECT_EQ(format_iso8601(*parse_iso8601("2024-02-29T23:59:59.999999Z")),
            "2024-02-29T23:59:59.999999+00:00");
  EXPECT_EQ(format_iso8601(*parse_iso8601("0999-12-31T10:00:00Z")),
            "0999-12-31T10:00:00.000000+00:00");
}

// Instants spread over every year parse_iso8601 takes.
TEST(Iso8601, RoundTripsAcrossTheRange) {
  const Micros first = *parse_iso8601("0001-01-01T00:00:00Z");
  const Micros last = *parse_iso8601("9999-12-31T23:59:59.999999Z");
  std::uint64_t x = 88172645463325252ull;  // xorshift: the same instants every run
  for (int i = 0; i < 20000; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    const Micros t = first + static_cast<Micros>(x % static_cast<std::uint64_t>(last - first + 1));
    ASSERT_EQ(parse_iso8601(format_iso8601(t)), t) << t << " " << format_iso8601(t);
  }
}

TEST(Iso8601, RoundTrips) {
  for (Micros t : {Micros{0}, Micros{1'700'000'000'123'456}, Micros{-86'400'000'001},
                   Micros{4'102'444'800'000'000}}) {
    EXPECT_EQ(parse_iso8601(format_iso8601(t)), t) << t;
  }
}

TEST(Iso8601, AcceptsPythonAndZuluForms) {
  EXPECT_EQ(parse_iso8601("2023-11-14T22:13:20"), 1'700'000'000'000'000);
  EXPECT_EQ(parse_iso8601("2023-11-14 22:13:20.5Z"), 1'700'000'000'500'000);
  EXPECT_EQ(parse_iso8601("2023-11-14T23:13:20.123456789+01:00"), 1'700'000'000'123'456);
  EXPECT_EQ(parse_iso8601("2023-11-14T21:13:20-0100"), 1'700'000'000'000'000);
}

TEST(Iso8601, RejectsMalformed) {
  for (const char* bad : {"", "2023", "2023-11-14", "2023-13-01T00:00:00", "2023-02-30T00:00:00",
                          "2023-11-14T22:13:20.", "2023-11-14T22:13:20+1",
                          "2023-11-14T22:13:20 junk", "2023-11-14T25:00:00"}) {
    EXPECT_EQ(parse_iso8601(bad), std::nullopt) << bad;
  }
}

TEST(Iso8601, RejectsInstantsOutsideFourDigitYears) {
  // Found by fuzzing: each parsed, then formatted as a string nothing could read back.
  for (const char* bad : {"0000-01-01T00:00:00+00:01", "0000-06-01T00:00:00",
                          "9999-12-31T23:59:59-00:01", "9999-12-31T23:59:60"}) {
    EXPECT_EQ(parse_iso8601(bad), std::nullopt) << bad;
  }
  EXPECT_EQ(format_iso8601(*parse_iso8601("0001-01-01T00:00:00Z")),
            "0001-01-01T00:00:00.000000+00:00");
  EXPECT_EQ(format_iso8601(*parse_iso8601("9999-12-31T23:59:59.999999Z")),
            "9999-12-31T23:59:59.999999+00:00");
}

TEST(ManualClock, MovesOnlyWhenAdvanced) {
  ManualClock clock(100);
  EXPECT_EQ(clock.now(), 100);
  clock.advance(kMicrosPerSecond);
  EXPECT_EQ(clock.now(), 100 + kMicrosPerSecond);
}

}  // namespace
}  // namespace harness
