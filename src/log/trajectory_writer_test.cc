#include "log/trajectory_writer.h"

#include <gtest/gtest.h>

#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "testing/temp_dir.h"

namespace harness {
namespace {

namespace fs = std::filesystem;
using json = Json;

constexpr Micros kT0 = 1'700'000'000'123'456;  // 2023-11-14T22:13:20.123456Z
constexpr char kT0Text[] = "2023-11-14T22:13:20.123456+00:00";

using test_support::TempDir;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> read_lines(const fs::path& p) {
  std::vector<std::string> lines;
  std::istringstream in(read_file(p));
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

void write_file(const fs::path& p, const std::string& content) {
  std::ofstream(p, std::ios::binary) << content;
}

class TrajectoryWriterTest : public ::testing::Test {
 protected:
  TempDir dir_;
  fs::path file_ = dir_.path() / "trajectory.jsonl";
  ManualClock clock_{kT0};
};

TEST_F(TrajectoryWriterTest, WritesTsFirstThenTheEventFields) {
  {
    TrajectoryWriter writer(file_, clock_);
    writer.append({{"event", "claim"}, {"task_id", "t1"}, {"worker_id", "w"}});
  }
  EXPECT_EQ(read_file(file_),
            std::string("{\"ts\":\"") + kT0Text +
                "\",\"event\":\"claim\",\"task_id\":\"t1\",\"worker_id\":\"w\"}\n");

  const auto parsed = nlohmann::ordered_json::parse(read_lines(file_).at(0));
  EXPECT_EQ(parsed.begin().key(), "ts");
  EXPECT_EQ(parse_iso8601(parsed["ts"].get<std::string>()), kT0);
}

TEST_F(TrajectoryWriterTest, TimestampsFollowTheClock) {
  {
    TrajectoryWriter writer(file_, clock_);
    writer.append({{"n", 1}});
    clock_.advance(1'500'000);
    writer.append({{"n", 2}});
  }
  const auto lines = read_lines(file_);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(json::parse(lines[0])["ts"], "2023-11-14T22:13:20.123456+00:00");
  EXPECT_EQ(json::parse(lines[1])["ts"], "2023-11-14T22:13:21.623456+00:00");
}

TEST_F(TrajectoryWriterTest, DefaultClockIsTheWallClock) {
  const Micros before = SystemClock::instance().now();
  {
    TrajectoryWriter writer(file_);
    writer.append({{"event", "ping"}});
  }
  const auto ts = parse_iso8601(json::parse(read_lines(file_).at(0))["ts"].get<std::string>());
  ASSERT_TRUE(ts.has_value());
  EXPECT_GE(*ts, before);
  EXPECT_LE(*ts, SystemClock::instance().now());
}

TEST_F(TrajectoryWriterTest, OneLinePerEventEvenWithNewlinesInValues) {
  {
    TrajectoryWriter writer(file_, clock_);
    writer.append({{"event", "exec"}, {"stdout", "line 1\nline 2\n"}});
    writer.append(json::object());
    writer.append({{"nested", {{"a", {1, 2, 3}}}}});
  }
  const auto lines = read_lines(file_);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(json::parse(lines[0])["stdout"], "line 1\nline 2\n");
  EXPECT_EQ(lines[1], std::string("{\"ts\":\"") + kT0Text + "\"}");
  EXPECT_EQ(json::parse(lines[2])["nested"]["a"], json({1, 2, 3}));
}

TEST_F(TrajectoryWriterTest, InvalidUtf8IsReplacedNotFatal) {
  {
    TrajectoryWriter writer(file_, clock_);
    writer.append({{"stdout", "bad \xFF\xFE bytes"}});
    writer.append({{"event", "after"}});
  }
  const auto lines = read_lines(file_);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(json::parse(lines[0])["stdout"], "bad \xEF\xBF\xBD\xEF\xBF\xBD bytes");
  EXPECT_EQ(json::parse(lines[1])["event"], "after");
}

TEST_F(TrajectoryWriterTest, RejectsEventsThatAreNotObjects) {
  {
    TrajectoryWriter writer(file_, clock_);
    try {
      writer.append(json::array({1, 2}));
      FAIL() << "expected Error";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), Error::Kind::kInvalidArgument);
    }
    EXPECT_THROW(writer.append("text"), Error);
  }
  EXPECT_EQ(read_file(file_), "");
}

TEST_F(TrajectoryWriterTest, ManyThreadsAppendConcurrently) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 2000;
  {
    TrajectoryWriter writer(file_, clock_);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&writer, t] {
        for (int i = 0; i < kPerThread; ++i) {
          writer.append(
              {{"event", "exec"}, {"thread", t}, {"i", i}, {"pad", std::string(i % 97, 'x')}});
        }
      });
    }
    for (auto& th : threads) th.join();
  }
  const auto lines = read_lines(file_);
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(kThreads * kPerThread));
  std::set<std::pair<int, int>> seen;
  std::vector<int> next(kThreads, 0);
  for (const auto& line : lines) {
    ASSERT_EQ(line.rfind("{\"ts\":\"", 0), 0u) << line;
    const json j = json::parse(line);  // throws (fails the test) on a torn or merged line
    const int t = j["thread"], i = j["i"];
    EXPECT_EQ(i, next[t]++) << "each thread's events stay in order";
    seen.emplace(t, i);
  }
  EXPECT_EQ(seen.size(), lines.size());
}

TEST_F(TrajectoryWriterTest, RepairsATornLastLine) {
  write_file(file_, "{\"event\":\"claim\"}\n{\"event\":\"comp");  // killed mid-write
  {
    TrajectoryWriter writer(file_, clock_);
    writer.append({{"event", "next"}});
  }
  const auto lines = read_lines(file_);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "{\"event\":\"claim\"}");
  EXPECT_EQ(lines[1], "{\"event\":\"comp");  // still torn, but alone on its line
  EXPECT_EQ(json::parse(lines[2])["event"], "next");
}

TEST_F(TrajectoryWriterTest, LeavesACompleteFileAsItIs) {
  write_file(file_, "{\"event\":\"claim\"}\n");
  { TrajectoryWriter writer(file_, clock_); }
  EXPECT_EQ(read_file(file_), "{\"event\":\"claim\"}\n");
  {
    TrajectoryWriter writer(file_, clock_);
    writer.append({{"event", "more"}});
  }
  EXPECT_EQ(read_lines(file_).size(), 2u);
}

TEST_F(TrajectoryWriterTest, CreatesTheFileWithMode0600) {
  const mode_t old_umask = ::umask(0);  // so the mode is the writer's choice, not the umask's
  { TrajectoryWriter writer(file_, clock_); }
  ::umask(old_umask);
  struct stat st {};
  ASSERT_EQ(::stat(file_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST_F(TrajectoryWriterTest, RefusesASymlink) {
  const fs::path target = dir_.path() / "elsewhere";
  write_file(target, "");
  fs::create_symlink(target, file_);
  EXPECT_THROW(TrajectoryWriter(file_, clock_), Error);
}

TEST_F(TrajectoryWriterTest, FailsToOpenInAMissingDirectory) {
  EXPECT_THROW(TrajectoryWriter(dir_.path() / "missing" / "t.jsonl", clock_), Error);
}

TEST_F(TrajectoryWriterTest, DestructorWritesEverythingStillQueued) {
  constexpr int kEvents = 20000;
  {
    TrajectoryWriter writer(file_, clock_);
    for (int i = 0; i < kEvents; ++i) writer.append({{"i", i}});
  }
  const auto lines = read_lines(file_);
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(kEvents));
  EXPECT_EQ(json::parse(lines.back())["i"], kEvents - 1);
}

// A file size limit makes write(2) fail with EFBIG after a partial write, as a full disk does.
// Each lost event is larger than a write, so each is a write of its own that fails.
TEST_F(TrajectoryWriterTest, WriteFailuresAreReportedOnceAndLoggingRecovers) {
  // Padded so that the limit leaves room for the report: the captured stderr is a file too.
  {
    TrajectoryWriter(file_, clock_).append({{"event", "before"}, {"pad", std::string(4096, 'p')}});
  }
  const auto size = fs::file_size(file_);

  struct sigaction ignore {
  }, old_action{};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGXFSZ, &ignore, &old_action), 0);
  rlimit old_limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  rlimit limit = old_limit;
  limit.rlim_cur = size + 10;  // room for 10 bytes of the next line only

  testing::internal::CaptureStderr();
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limit), 0);
  {
    TrajectoryWriter writer(file_, clock_);
    for (int i = 0; i < 3; ++i)
      writer.append({{"event", "lost"}, {"i", i}, {"pad", std::string(2 << 20, 'p')}});
  }  // must not hang although nothing can be written
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old_limit), 0);
  { TrajectoryWriter(file_, clock_).append({{"event", "after"}}); }
  const std::string err = testing::internal::GetCapturedStderr();
  ASSERT_EQ(::sigaction(SIGXFSZ, &old_action, nullptr), 0);

  std::size_t reports = 0;
  for (auto pos = err.find("cannot write trajectory"); pos != std::string::npos;
       pos = err.find("cannot write trajectory", pos + 1)) {
    ++reports;
  }
  EXPECT_EQ(reports, 1u) << err;

  const auto lines = read_lines(file_);
  ASSERT_EQ(lines.size(), 3u) << read_file(file_);
  EXPECT_EQ(json::parse(lines[0])["event"], "before");
  EXPECT_EQ(lines[1].size(), 10u);  // the torn piece stays on a line of its own
  EXPECT_FALSE(json::accept(lines[1]));
  EXPECT_EQ(json::parse(lines[2])["event"], "after");
}

}  // namespace
}  // namespace harness
