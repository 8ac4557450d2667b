#include "cli/worker_id.h"

#include <gtest/gtest.h>

#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <latch>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "testing/scoped_env.h"
#include "testing/temp_dir.h"

namespace harness {
namespace {

namespace fs = std::filesystem;

using test_support::ScopedEnv;
using test_support::ScopedUmask;
using test_support::TempDir;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const fs::path& p, const std::string& content) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
}

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

std::size_t entries_in(const fs::path& dir) {
  return static_cast<std::size_t>(
      std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

// Expects load_or_create_worker_id(file) to throw an Error whose message names the file and
// contains `problem`.
void expect_refused(const fs::path& file, const std::string& problem) {
  try {
    const std::string id = load_or_create_worker_id(file);
    ADD_FAILURE() << "expected an Error, got id " << id;
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(file.string()), std::string::npos) << message;
    EXPECT_NE(message.find(problem), std::string::npos) << message;
  }
}

class WorkerIdTest : public ::testing::Test {
 protected:
  TempDir dir_;
  fs::path file_ = dir_.path() / "worker.id";
};

TEST_F(WorkerIdTest, CreatesAnIdOnFirstUseAndKeepsIt) {
  const std::string id = load_or_create_worker_id(file_);
  EXPECT_TRUE(std::regex_match(id, std::regex("worker-[0-9a-f]{8}"))) << id;
  EXPECT_EQ(read_file(file_), id + "\n");
  EXPECT_EQ(load_or_create_worker_id(file_), id);
  EXPECT_EQ(load_or_create_worker_id(file_), id);
  EXPECT_EQ(entries_in(dir_.path()), 1u) << "the temporary file is gone";
}

TEST_F(WorkerIdTest, DifferentFilesGetDifferentIds) {
  EXPECT_NE(load_or_create_worker_id(dir_.path() / "a.id"),
            load_or_create_worker_id(dir_.path() / "b.id"));
}

TEST_F(WorkerIdTest, FileIsCreatedWithMode0600) {
  ScopedUmask umask(0);
  load_or_create_worker_id(file_);
  EXPECT_EQ(mode_of(file_), 0600u);
}

TEST_F(WorkerIdTest, MissingParentDirectoriesAreCreated0700) {
  ScopedUmask umask(0);
  const fs::path file = dir_.path() / "a" / "b" / "worker.id";
  const std::string id = load_or_create_worker_id(file);
  EXPECT_EQ(mode_of(dir_.path() / "a"), 0700u);
  EXPECT_EQ(mode_of(dir_.path() / "a" / "b"), 0700u);
  EXPECT_EQ(load_or_create_worker_id(file), id);
}

TEST_F(WorkerIdTest, ReadsAnIdWrittenByHandTrimmingWhitespace) {
  write_file(file_, "  agent-7@host \n");
  EXPECT_EQ(load_or_create_worker_id(file_), "agent-7@host");
}

TEST_F(WorkerIdTest, GarbageFilesAreErrorsAndAreLeftAlone) {
  const std::pair<std::string, std::string> cases[] = {
      {"", "is empty"},
      {" \n\n", "is empty"},
      {"two\nlines\n", "single-line"},
      {"has space", "single-line"},
      {std::string("\x01\x02\xff", 3), "single-line"},
      {std::string("id\0x", 4), "single-line"},
      {std::string(129, 'a'), "longer than 128"},
      {std::string(10000, 'a'), "too large"},
  };
  for (const auto& [content, problem] : cases) {
    write_file(file_, content);
    expect_refused(file_, problem);
    EXPECT_EQ(read_file(file_), content) << "must not be replaced";
  }
}

TEST_F(WorkerIdTest, SymlinksAreRefusedNotFollowed) {
  const fs::path target = dir_.path() / "target.id";
  write_file(target, "worker-deadbeef\n");
  fs::create_symlink(target, file_);
  expect_refused(file_, "symlink");

  // A dangling link must not lead to creating the file at its target either.
  const fs::path dangling = dir_.path() / "dangling.id";
  fs::create_symlink(dir_.path() / "planted", dangling);
  expect_refused(dangling, "symlink");
  EXPECT_FALSE(fs::exists(dir_.path() / "planted"));
}

TEST_F(WorkerIdTest, OtherKindsOfFileAreRefused) {
  fs::create_directory(file_);
  expect_refused(file_, "not a regular file");
  const fs::path fifo = dir_.path() / "fifo.id";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  expect_refused(fifo, "not a regular file");  // and does not hang opening it
}

TEST_F(WorkerIdTest, FilesOwnedBySomeoneElseAreRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a file away";
  write_file(file_, "worker-0badf00d\n");
  ASSERT_EQ(::chown(file_.c_str(), 65534, 65534), 0);
  expect_refused(file_, "owned by uid 65534");
}

TEST_F(WorkerIdTest, ConcurrentThreadsAllGetTheSameId) {
  for (int round = 0; round < 20; ++round) {
    const fs::path file = dir_.path() / ("round-" + std::to_string(round) + ".id");
    constexpr int kThreads = 16;
    std::latch start(kThreads);
    std::vector<std::string> ids(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        start.arrive_and_wait();
        ids[t] = load_or_create_worker_id(file);
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 1u) << "round " << round;
    EXPECT_EQ(ids[0], load_or_create_worker_id(file));
  }
  EXPECT_EQ(entries_in(dir_.path()), 20u) << "no temporary files are left behind";
}

// The real race: separate processes (parallel agents starting up) creating the same file.
TEST_F(WorkerIdTest, ConcurrentProcessesAllGetTheSameId) {
  constexpr int kChildren = 12;
  constexpr std::size_t kIdBytes = 15;  // "worker-" + 8 hex digits
  for (int round = 0; round < 10; ++round) {
    const fs::path file = dir_.path() / ("round-" + std::to_string(round) + ".id");
    int go[2], results[2];
    ASSERT_EQ(::pipe(go), 0);
    ASSERT_EQ(::pipe(results), 0);
    std::vector<pid_t> children;
    for (int c = 0; c < kChildren; ++c) {
      const pid_t pid = ::fork();
      ASSERT_GE(pid, 0);
      if (pid == 0) {
        ::close(go[1]);
        char byte;
        (void)::read(go[0], &byte, 1);  // returns 0 when the parent closes: everyone starts
        std::string id;
        try {
          id = load_or_create_worker_id(file);
        } catch (...) {
          ::_exit(1);
        }
        // Writes of at most PIPE_BUF bytes are atomic, so records do not interleave.
        ::_exit(id.size() == kIdBytes && ::write(results[1], id.data(), kIdBytes) == kIdBytes ? 0
                                                                                              : 2);
      }
      children.push_back(pid);
    }
    ::close(go[0]);
    ::close(results[1]);
    ::close(go[1]);  // start the race
    std::string all;
    char buf[4096];
    for (ssize_t n; (n = ::read(results[0], buf, sizeof buf)) > 0;) all.append(buf, n);
    ::close(results[0]);
    for (pid_t pid : children) {
      int status = 0;
      ASSERT_EQ(::waitpid(pid, &status, 0), pid);
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child failed";
    }
    ASSERT_EQ(all.size(), kChildren * kIdBytes);
    std::set<std::string> ids;
    for (std::size_t i = 0; i < all.size(); i += kIdBytes) ids.insert(all.substr(i, kIdBytes));
    EXPECT_EQ(ids.size(), 1u) << "round " << round << ": " << all;
    EXPECT_EQ(*ids.begin(), load_or_create_worker_id(file));
  }
  EXPECT_EQ(entries_in(dir_.path()), 10u) << "no temporary files are left behind";
}

TEST_F(WorkerIdTest, EnvironmentIdWinsOverTheFile) {
  ScopedEnv id("HARNESS_WORKER_ID", "agent-42");
  ScopedEnv file("HARNESS_WORKER_ID_FILE", file_.string());
  EXPECT_EQ(resolve_worker_id(), "agent-42");
  EXPECT_FALSE(fs::exists(file_));
}

TEST_F(WorkerIdTest, EnvironmentFileIsUsedWhenNoIdIsSet) {
  ScopedEnv id("HARNESS_WORKER_ID", "");  // empty counts as unset
  ScopedEnv file("HARNESS_WORKER_ID_FILE", file_.string());
  const std::string resolved = resolve_worker_id();
  EXPECT_EQ(resolved, load_or_create_worker_id(file_));
  EXPECT_EQ(resolve_worker_id(), resolved);
}

// Issue 13 item 15: the default used to be one file per user, shared by all its agents. Now it
// is the agent process's id (agent_process_test.cc covers the walk), and never a file.
TEST_F(WorkerIdTest, DefaultIsThisAgentProcessNotASharedFile) {
  ScopedEnv file("HARNESS_WORKER_ID_FILE", std::nullopt);
  ScopedEnv worker("HARNESS_WORKER_ID", std::nullopt);
  ScopedEnv xdg("XDG_RUNTIME_DIR", dir_.path().string());
  const WorkerIdentity identity = resolve_worker_identity();
  // This test binary is no wrapper, so it is the agent.
  EXPECT_TRUE(std::regex_match(
      identity.id, std::regex("harness_tests-" + std::to_string(::getpid()) + "-[0-9a-f]{8}")))
      << identity.id;
  EXPECT_EQ(resolve_worker_id(), identity.id);
  EXPECT_NE(identity.source.find("agent process"), std::string::npos);
  EXPECT_TRUE(fs::is_empty(dir_.path()));
  EXPECT_FALSE(configured_worker_identity().has_value());
}

}  // namespace
}  // namespace harness
