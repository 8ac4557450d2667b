#include "log/trajectory_reader.h"

#include <gtest/gtest.h>

#include <stdlib.h>
#include <sys/stat.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "log/trajectory_writer.h"
#include "testing/temp_dir.h"

namespace harness {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Lines = std::vector<std::string>;

// Long enough that only a broken follower misses it, short enough to fail a broken test fast.
constexpr auto kAwait = 10s;

using test_support::TempDir;

void write_file(const fs::path& p, const std::string& content) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
}

void append_file(const fs::path& p, const std::string& content) {
  std::ofstream(p, std::ios::binary | std::ios::app) << content;
}

std::string join_lines(const Lines& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

Lines tail(const Lines& lines, std::size_t n) {
  return Lines(lines.end() - static_cast<std::ptrdiff_t>(std::min(n, lines.size())), lines.end());
}

// ---------------------------------------------------------------------------------------------
// read_last_lines

class TrajectoryReaderTest : public ::testing::Test {
 protected:
  TempDir dir_;
  fs::path file_ = dir_.path() / "trajectory.jsonl";
};

TEST_F(TrajectoryReaderTest, MissingFileGivesNothing) {
  EXPECT_EQ(read_last_lines(file_, 10), Lines{});
  EXPECT_EQ(file_size_or_zero(file_), 0u);
  EXPECT_EQ(file_size_or_zero(dir_.path() / "no" / "such" / "file"), 0u);
}

TEST_F(TrajectoryReaderTest, ReturnsTheLastLinesOldestFirst) {
  write_file(file_, "a\nb\nc\nd\n");
  EXPECT_EQ(read_last_lines(file_, 2), (Lines{"c", "d"}));
  EXPECT_EQ(read_last_lines(file_, 1), (Lines{"d"}));
  EXPECT_EQ(read_last_lines(file_, 0), Lines{});
  EXPECT_EQ(file_size_or_zero(file_), 8u);
}

TEST_F(TrajectoryReaderTest, NLargerThanTheFileGivesEveryLine) {
  write_file(file_, "a\nb\nc\n");
  EXPECT_EQ(read_last_lines(file_, 3), (Lines{"a", "b", "c"}));
  EXPECT_EQ(read_last_lines(file_, 1000), (Lines{"a", "b", "c"}));
  write_file(file_, "");
  EXPECT_EQ(read_last_lines(file_, 5), Lines{});
}

TEST_F(TrajectoryReaderTest, ExcludesATornLastLine) {
  write_file(file_, "a\nb\n{\"torn");
  EXPECT_EQ(read_last_lines(file_, 1), (Lines{"b"}));
  EXPECT_EQ(read_last_lines(file_, 5), (Lines{"a", "b"}));
  write_file(file_, "only a torn line");
  EXPECT_EQ(read_last_lines(file_, 5), Lines{});
}

TEST_F(TrajectoryReaderTest, KeepsEmptyLines) {
  write_file(file_, "a\n\nb\n");
  EXPECT_EQ(read_last_lines(file_, 2), (Lines{"", "b"}));
  EXPECT_EQ(read_last_lines(file_, 9), (Lines{"a", "", "b"}));
}

TEST_F(TrajectoryReaderTest, LinesSpanningBlockBoundaries) {
  std::mt19937 rng(42);
  Lines lines;
  for (int i = 0; i < 3000; ++i) {
    // Mostly short lines, some far longer than a 64 KiB block.
    const std::size_t len = i % 500 == 7 ? 150'000 + rng() % 1000 : rng() % 300;
    lines.push_back(std::to_string(i) + ":" + std::string(len, static_cast<char>('a' + i % 26)));
  }
  write_file(file_, join_lines(lines) + "torn tail");
  for (std::size_t n : {1, 2, 3, 10, 100, 493, 494, 495, 1000, 2999, 3000, 3001, 10000}) {
    EXPECT_EQ(read_last_lines(file_, n), tail(lines, n)) << "n = " << n;
  }
}

// 50 MB of real lines; asking for the last 100 must read a block or two, not the file.
TEST_F(TrajectoryReaderTest, ReadsOnlyTheEndOfALargeFile) {
  std::string chunk;
  int next = 0;
  while (chunk.size() < (1 << 20)) {
    chunk += "{\"event\":\"claim\",\"n\":" + std::to_string(next++) + ",\"pad\":\"" +
             std::string(80, 'x') + "\"}\n";
  }
  {
    std::ofstream out(file_, std::ios::binary);
    for (int i = 0; i < 50; ++i) out << chunk;
    out << "{\"last\":1}\n{\"last\":2}\n";
  }
  ASSERT_GE(file_size_or_zero(file_), 50u << 20);

  TailReadStats stats;
  const auto start = std::chrono::steady_clock::now();
  const Lines lines = read_last_lines(file_, 100, &stats);
  const auto elapsed = std::chrono::steady_clock::now() - start;

  ASSERT_EQ(lines.size(), 100u);
  EXPECT_EQ(lines[98], "{\"last\":1}");
  EXPECT_EQ(lines[99], "{\"last\":2}");
  EXPECT_LE(stats.bytes_read, 2u * 64 * 1024) << "read far more than the last 100 lines";
  EXPECT_LT(elapsed, 200ms);
}

TEST_F(TrajectoryReaderTest, StatsCountEveryByteOfASmallFile) {
  write_file(file_, "a\nb\n");
  TailReadStats stats;
  EXPECT_EQ(read_last_lines(file_, 10, &stats), (Lines{"a", "b"}));
  EXPECT_EQ(stats.bytes_read, 4u);
}

// ---------------------------------------------------------------------------------------------
// follow_lines

// Collects lines from a follower thread; the test thread awaits a count.
class Collector {
 public:
  bool operator()(std::string_view line) {
    std::lock_guard lock(mu_);
    lines_.emplace_back(line);
    cv_.notify_all();
    return true;
  }

  // Whether at least n lines arrived within kAwait.
  bool await(std::size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kAwait, [&] { return lines_.size() >= n; });
  }

  Lines lines() {
    std::lock_guard lock(mu_);
    return lines_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  Lines lines_;
};

// Runs follow_lines on a thread until stopped.
class Follower {
 public:
  Follower(const fs::path& file, std::uint64_t from)
      : result_(std::async(std::launch::async, [this, file, from] {
          return follow_lines(
              file, from, [this](std::string_view line) { return collector_(line); },
              stop_.get_token());
        })) {}
  ~Follower() {
    stop_.request_stop();
    if (result_.valid()) result_.wait();
  }

  Collector& collector() { return collector_; }

  // Requests stop and returns the offset reached; fails the test if it does not end promptly.
  std::uint64_t stop() {
    stop_.request_stop();
    EXPECT_EQ(result_.wait_for(2s), std::future_status::ready) << "follow_lines ignored stop";
    return result_.get();
  }

 private:
  Collector collector_;
  std::stop_source stop_;
  std::future<std::uint64_t> result_;  // last: the thread uses the members above
};

TEST_F(TrajectoryReaderTest, FollowSeesAppendedLines) {
  write_file(file_, "old\n");
  Follower follower(file_, file_size_or_zero(file_));
  append_file(file_, "a\n");
  ASSERT_TRUE(follower.collector().await(1));
  append_file(file_, "b");  // a partial line is held back until its '\n' arrives
  append_file(file_, "c\nd\n");
  ASSERT_TRUE(follower.collector().await(3));
  EXPECT_EQ(follower.stop(), file_size_or_zero(file_));
  EXPECT_EQ(follower.collector().lines(), (Lines{"a", "bc", "d"}));
}

TEST_F(TrajectoryReaderTest, FollowDeliversExistingLinesFromTheOffset) {
  write_file(file_, "l1\nl2\nl3\ntorn");
  Lines seen;
  std::stop_source stop;
  const auto offset = follow_lines(
      file_, 3,
      [&](std::string_view line) {
        seen.emplace_back(line);
        return line != "l3";
      },
      stop.get_token());
  EXPECT_EQ(seen, (Lines{"l2", "l3"}));
  EXPECT_EQ(offset, 9u);

  seen.clear();
  EXPECT_EQ(follow_lines(
                file_, 0,
                [&](std::string_view line) {
                  seen.emplace_back(line);
                  return false;
                },
                stop.get_token()),
            3u);
  EXPECT_EQ(seen, (Lines{"l1"}));
}

TEST_F(TrajectoryReaderTest, FollowEndsWhenStopIsRequested) {
  write_file(file_, "");
  Follower follower(file_, 0);
  append_file(file_, "x\n");
  ASSERT_TRUE(follower.collector().await(1));  // the follower is now waiting for growth
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(follower.stop(), 2u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

TEST_F(TrajectoryReaderTest, FollowWithStopAlreadyRequestedReturnsAtOnce) {
  write_file(file_, "a\n");
  std::stop_source stop;
  stop.request_stop();
  bool called = false;
  EXPECT_EQ(follow_lines(
                file_, 0,
                [&](std::string_view) {
                  called = true;
                  return true;
                },
                stop.get_token()),
            0u);
  EXPECT_FALSE(called);
  EXPECT_EQ(
      follow_lines(
          dir_.path() / "missing", 0, [](std::string_view) { return true; }, stop.get_token()),
      0u);
}

TEST_F(TrajectoryReaderTest, FollowWaitsForTheFileToBeCreated) {
  Follower follower(file_, 0);
  write_file(file_, "first\n");
  ASSERT_TRUE(follower.collector().await(1));
  append_file(file_, "second\n");
  ASSERT_TRUE(follower.collector().await(2));
  EXPECT_EQ(follower.collector().lines(), (Lines{"first", "second"}));
}

TEST_F(TrajectoryReaderTest, FollowWaitsForTheDirectoryToBeCreated) {
  const fs::path file = dir_.path() / "later" / "trajectory.jsonl";
  Follower follower(file, 0);
  fs::create_directory(file.parent_path());
  write_file(file, "first\n");
  ASSERT_TRUE(follower.collector().await(1));
  append_file(file, "second\n");
  ASSERT_TRUE(follower.collector().await(2));
  EXPECT_EQ(follower.collector().lines(), (Lines{"first", "second"}));
}

TEST_F(TrajectoryReaderTest, FollowRestartsFromZeroAfterTruncation) {
  write_file(file_, "aaaa\nbbbb\n");
  Follower follower(file_, 0);
  ASSERT_TRUE(follower.collector().await(2));
  write_file(file_, "c\n");  // O_TRUNC, and shorter than the offset reached
  ASSERT_TRUE(follower.collector().await(3));
  EXPECT_EQ(follower.stop(), 2u);
  EXPECT_EQ(follower.collector().lines(), (Lines{"aaaa", "bbbb", "c"}));
}

TEST_F(TrajectoryReaderTest, FollowRestartsFromZeroWhenTheFileIsReplaced) {
  write_file(file_, "old 1\n");
  Follower follower(file_, 0);
  ASSERT_TRUE(follower.collector().await(1));
  const fs::path replacement = dir_.path() / "new.jsonl";
  write_file(replacement, "new 1\nnew 2\n");
  fs::rename(replacement, file_);
  ASSERT_TRUE(follower.collector().await(3));
  append_file(file_, "new 3\n");
  ASSERT_TRUE(follower.collector().await(4));
  EXPECT_EQ(follower.stop(), 18u);
  EXPECT_EQ(follower.collector().lines(), (Lines{"old 1", "new 1", "new 2", "new 3"}));
}

TEST_F(TrajectoryReaderTest, FollowReadsWhatTheWriterWrites) {
  constexpr int kEvents = 5000;
  ManualClock clock(0);
  Follower follower(file_, 0);
  {
    TrajectoryWriter writer(file_, clock);
    for (int i = 0; i < kEvents; ++i) writer.append({{"i", i}});
  }
  ASSERT_TRUE(follower.collector().await(kEvents));
  const Lines lines = follower.collector().lines();
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(kEvents));
  for (int i = 0; i < kEvents; ++i) {
    EXPECT_EQ(nlohmann::json::parse(lines[i])["i"], i);
  }
}

}  // namespace
}  // namespace harness
