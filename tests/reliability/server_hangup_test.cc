// A client that goes away cancels what it asked for (issue 13, item 7): the real CLI, killed the
// way Ctrl-C kills it, while the daemon runs its command. The command's process group is killed
// at once instead of running to its end, and the daemon keeps serving.
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "exec/subprocess.h"
#include "reliability/reliability_util.h"
#include "testing/run_program.h"
#include "testing/scratch_worktree.h"
#include "testing/socket_client.h"
#include "testing/test_daemon.h"

namespace harness::testing {
namespace {

using namespace test_support;  // NOLINT: the test library (tests/testing)

namespace fs = std::filesystem;
using namespace std::chrono_literals;

bool alive(pid_t pid) { return ::kill(pid, 0) == 0 || errno != ESRCH; }

// Runs `harness ARGS...` on a thread until it ends or is killed by cancel().
class BackgroundCli {
 public:
  BackgroundCli(std::vector<std::string> args, const ScratchWorktree& w) {
    spec_.args = {HARNESS_BINARY};
    spec_.args.insert(spec_.args.end(), args.begin(), args.end());
    spec_.env = {{"HARNESS_SOCKET", w.socket().string()}, {"HARNESS_WORKTREE", w.path().string()}};
    spec_.cwd = w.path().string();
    spec_.timeout = 60s;
    spec_.kill_grace = 100ms;
    thread_ = std::jthread([this] { result_ = run_command(spec_, stop_.get_token()); });
  }
  // Kills the CLI's process group (SIGTERM, as a terminal's Ctrl-C ends it) and waits for it.
  CommandResult cancel() {
    stop_.request_stop();
    thread_.join();
    return result_;
  }

 private:
  CommandSpec spec_;
  std::stop_source stop_;
  CommandResult result_;
  std::jthread thread_;
};

// The pid the command under test wrote to `file`, once it has.
pid_t await_pid(const fs::path& file) {
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(file);
    pid_t pid = 0;
    if (in >> pid && pid > 0) return pid;
    std::this_thread::sleep_for(10ms);  // polling a file the command writes
  }
  ADD_FAILURE() << "the command never started";
  return -1;
}

void expect_gone_soon(pid_t pid) {
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (alive(pid) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  EXPECT_FALSE(alive(pid)) << "the command outlived its client";
}

TEST(ServerHangup, KillingTheCliOfAnExecKillsTheCommand) {
  ScratchWorktree w;
  TestDaemon daemon(w.socket(), w.path());
  const fs::path pid_file = w.path().parent_path() / "cmd.pid";
  const fs::path done_file = w.path().parent_path() / "cmd.done";
  BackgroundCli cli({"exec", "--", "sh", "-c",
                     "echo $$ > " + pid_file.string() + "; sleep 30; touch " + done_file.string()},
                    w);
  const pid_t pid = await_pid(pid_file);
  ASSERT_GT(pid, 0);
  cli.cancel();
  expect_gone_soon(pid);
  EXPECT_FALSE(fs::exists(done_file));
  EXPECT_TRUE(ping_ok(w.socket()));
}

TEST(ServerHangup, AKilledCliGitIsNotCarriedOutLater) {
  ScratchWorktree w;
  TestDaemon daemon(w.socket(), w.path());
  const fs::path pid_file = w.path().parent_path() / "hook.pid";
  const fs::path hook = w.path() / ".git" / "hooks" / "pre-commit";
  fs::create_directories(hook.parent_path());
  std::ofstream(hook) << "#!/bin/sh\necho $$ > " << pid_file.string() << "\nexec sleep 30\n";
  fs::permissions(hook, fs::perms::owner_all);
  BackgroundCli cli({"git", "--", "commit", "--allow-empty", "-m", "late"}, w);
  const pid_t pid = await_pid(pid_file);
  ASSERT_GT(pid, 0);
  cli.cancel();
  expect_gone_soon(pid);
  const RunResult log = run_harness({"git", "--", "log", "--format=%s"}, w.socket(), w.path());
  EXPECT_NE(log.out.find("initial"), std::string::npos) << log.out << log.err;
  EXPECT_EQ(log.out.find("late"), std::string::npos) << log.out;
  EXPECT_TRUE(ping_ok(w.socket()));
}

}  // namespace
}  // namespace harness::testing
