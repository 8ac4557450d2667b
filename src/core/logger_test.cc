#include "core/logger.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"

namespace harness {
namespace {

using testing::internal::CaptureStderr;
using testing::internal::GetCapturedStderr;

// The line's time, when it starts with one as format_iso8601 writes it and a space.
std::optional<Micros> leading_time(const std::string& line) {
  const std::size_t space = line.find(' ');
  if (space == std::string::npos) return std::nullopt;
  return parse_iso8601(line.substr(0, space));
}

TEST(Logger, WritesTheTimeThePidAndTheLevelBeforeTheMessage) {
  const Micros before = SystemClock::instance().now();
  CaptureStderr();
  log_info("daemon 1 serving /w on /s");
  const std::string line = GetCapturedStderr();
  const Micros after = SystemClock::instance().now();

  const std::string tail =
      " harness[" + std::to_string(::getpid()) + "] info: daemon 1 serving /w on /s\n";
  ASSERT_GT(line.size(), tail.size());
  EXPECT_EQ(line.substr(line.size() - tail.size()), tail);
  const std::optional<Micros> time = leading_time(line);
  ASSERT_TRUE(time.has_value()) << line;
  EXPECT_GE(*time, before);
  EXPECT_LE(*time, after);
  EXPECT_EQ(line.substr(0, line.find(' ')), format_iso8601(*time)) << "ISO-8601 UTC, as events";
}

TEST(Logger, NamesEachLevelAndPutsTheReasonAfterTheMessage) {
  CaptureStderr();
  log_warning("w");
  log_error("cannot write x", "No space left on device");
  const std::string lines = GetCapturedStderr();
  EXPECT_THAT(lines, testing::MatchesRegex(
                         ".* warning: w\n.* error: cannot write x: No space left on device\n"));
}

TEST(Logger, LinesFromConcurrentCallsNeverMix) {
  constexpr int kThreads = 4;
  constexpr int kLines = 200;
  CaptureStderr();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < kLines; ++i) log_info("thread " + std::to_string(t) + " line");
    });
  }
  for (std::thread& thread : threads) thread.join();
  const std::string text = GetCapturedStderr();

  int count = 0;
  for (std::size_t start = 0; start < text.size(); ++count) {
    const std::size_t end = text.find('\n', start);
    ASSERT_NE(end, std::string::npos);
    EXPECT_THAT(text.substr(start, end - start),
                testing::MatchesRegex(".* info: thread [0-9] line"));
    start = end + 1;
  }
  EXPECT_EQ(count, kThreads * kLines);
}

}  // namespace
}  // namespace harness
