#include "view/status_text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace harness {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr Micros kNow = 1'800'000'000LL * kMicrosPerSecond;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

StatusView sample() {
  StatusView v;
  v.now = kNow;
  v.counts.completed = 12;
  v.counts.running = 2;
  v.counts.failed = 1;
  v.counts.blocked = 3;
  v.counts.ready = 4;
  v.counts.waiting = 28;
  v.running.push_back(RunningTaskView{"build-core", "", "worker-a", 1, 3, kNow - 10'000'000,
                                      kNow + 252 * kMicrosPerSecond});
  v.running.push_back(RunningTaskView{std::string(60, 'x'), "", "worker-b", 2, 3, std::nullopt,
                                      kNow - kMicrosPerSecond});
  v.failed.push_back(FailedTaskView{"lint", "", "error: " + std::string(200, 'e'), 3, 3, 3});
  for (const char* id : {"deploy", "docs", "release"})
    v.blocked.push_back(BlockedTaskView{id, "", {"lint"}});
  v.throughput = Throughput{5 * 60 * kMicrosPerSecond,
                            5 * 60 * kMicrosPerSecond,
                            21,
                            4.2,
                            34,
                            std::optional<Micros>(486 * kMicrosPerSecond)};
  TrajectoryEvent e;
  e.ts = kNow - 3 * kMicrosPerSecond;
  e.kind = "complete";
  e.task_id = "build-api";
  e.worker_id = "worker-c";
  v.recent.push_back(e);
  return v;
}

TEST(StatusTextTest, ShowsProgressCountsLeasesFailuresBlockersAndEvents) {
  const std::string text = render_status_text(sample(), TextStyle{});
  EXPECT_THAT(text, HasSubstr("] 24% 12/50"));
  EXPECT_THAT(text, HasSubstr("12/50 completed, 2 running, 35 pending, 1 failed\n"));
  EXPECT_THAT(text, HasSubstr("pending: 4 ready, 28 waiting, 0 backing off, 3 blocked"));
  EXPECT_THAT(text, HasSubstr("Throughput 4.2/min over the last 5m00s; ETA 8m06s"));
  EXPECT_THAT(text, HasSubstr("Running (2)"));
  EXPECT_THAT(text, HasSubstr("build-core"));
  EXPECT_THAT(text, HasSubstr("worker-a"));
  EXPECT_THAT(text, HasSubstr("lease 4m12s  attempt 1/3"));
  EXPECT_THAT(text, HasSubstr("lease expired  attempt 2/3"));
  EXPECT_THAT(text, HasSubstr("Failed (1)"));
  EXPECT_THAT(text, HasSubstr("attempts 3/3, blocks 3: error: eee"));
  EXPECT_THAT(text, HasSubstr("Blocked (3)"));
  EXPECT_THAT(text, HasSubstr("deploy"));
  EXPECT_THAT(text, HasSubstr(" by lint"));
  EXPECT_THAT(text, HasSubstr("3s ago"));
  EXPECT_THAT(text, HasSubstr("complete     build-api by worker-c"));
  EXPECT_THAT(text, Not(HasSubstr("\x1b[")));
}

TEST(StatusTextTest, EveryLineFitsTheWidthAndLongTextIsMarkedCut) {
  for (std::size_t width : {80u, 60u, 40u}) {
    TextStyle style;
    style.width = width;
    const std::string text = render_status_text(sample(), style);
    for (const std::string& line : lines_of(text)) EXPECT_LE(line.size(), width) << line;
    EXPECT_THAT(text, HasSubstr("..."));
  }
}

TEST(StatusTextTest, ColoursOnlyWhenAsked) {
  TextStyle style;
  style.color = true;
  const std::string text = render_status_text(sample(), style);
  EXPECT_THAT(text, HasSubstr("\x1b[31m"));  // failed in red
  EXPECT_THAT(text, HasSubstr("\x1b[0m"));
}

TEST(StatusTextTest, AFrameWithFewLinesSaysHowManyMoreThereAre) {
  StatusView v = sample();
  for (int i = 0; i < 30; ++i)
    v.blocked.push_back(BlockedTaskView{"b" + std::to_string(i), "", {"lint"}});
  TextStyle style;
  style.max_lines = 16;
  const std::vector<std::string> lines = lines_of(render_status_text(v, style));
  EXPECT_LE(lines.size(), 16u);
  EXPECT_THAT(render_status_text(v, style), HasSubstr("more blocked"));
}

TEST(StatusTextTest, WithoutMaxLinesLongListsAreCutAtTheLimit) {
  StatusView v = sample();
  for (int i = 0; i < 30; ++i)
    v.blocked.push_back(BlockedTaskView{"b" + std::to_string(i), "", {"lint"}});
  const std::string text = render_status_text(v, TextStyle{});
  EXPECT_THAT(text, HasSubstr("... 23 more blocked"));
}

TEST(StatusTextTest, SaysWhyThereIsNoEta) {
  StatusView v = sample();
  v.throughput.eta.reset();
  EXPECT_THAT(render_status_text(v, TextStyle{}), HasSubstr("ETA unknown"));
  v.throughput.remaining = 0;
  EXPECT_THAT(render_status_text(v, TextStyle{}), HasSubstr("stalled: 3 tasks blocked"));
  v.throughput.eta = 0;
  EXPECT_THAT(render_status_text(v, TextStyle{}), HasSubstr("nothing left to run"));
}

TEST(StatusTextTest, FormatsDurations) {
  EXPECT_EQ(format_duration(45 * kMicrosPerSecond), "45s");
  EXPECT_EQ(format_duration(252 * kMicrosPerSecond), "4m12s");
  EXPECT_EQ(format_duration(7500 * kMicrosPerSecond), "2h05m");
  EXPECT_EQ(format_duration(-(90000 * kMicrosPerSecond)), "1d01h");
}

}  // namespace
}  // namespace harness
