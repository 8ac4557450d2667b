#include "exec/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/temp_dir.h"

#include "core/error.h"

namespace harness {
namespace {

using std::chrono::milliseconds;
using testing::HasSubstr;

CommandSpec command(std::vector<std::string> args) {
  CommandSpec spec;
  spec.args = std::move(args);
  return spec;
}

CommandSpec shell(const std::string& script) { return command({"/bin/sh", "-c", script}); }

// A fresh directory, removed with everything in it when the test ends.
using test_support::TempDir;

void write_file(const std::string& path, const std::string& text, mode_t mode = 0644) {
  std::ofstream(path) << text;
  ASSERT_EQ(chmod(path.c_str(), mode), 0);
}

// Polls `condition` until it holds or `limit` passes; the bounded way to await another process.
template <typename Condition>
bool eventually(Condition condition, milliseconds limit = milliseconds{5000}) {
  const auto give_up = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= give_up) return false;
    std::this_thread::sleep_for(milliseconds{5});
  }
  return true;
}

// True while `pid` runs; a zombie nobody has reaped yet counts as gone.
bool process_running(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  const size_t paren = line.rfind(')');
  if (paren == std::string::npos || paren + 2 >= line.size()) return false;
  const char state = line[paren + 2];
  return state != 'Z' && state != 'X';
}

pid_t read_pid(const std::string& path) {
  pid_t pid = 0;
  EXPECT_TRUE(eventually([&] { return std::ifstream(path) >> pid && pid > 0; })) << path;
  return pid;
}

int count_open_fds() {
  int count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    ++count;
  }
  return count;
}

TEST(Subprocess, ReportsExitStatus) {
  CommandResult ok = run_command(command({"true"}));
  EXPECT_EQ(ok.returncode, 0);
  EXPECT_FALSE(ok.signal_name);
  EXPECT_FALSE(ok.timed_out);

  CommandResult failed = run_command(shell("exit 3"));
  EXPECT_EQ(failed.returncode, 3);
  EXPECT_FALSE(failed.signal_name);
}

TEST(Subprocess, ReportsASignalThatEndedTheChild) {
  CommandResult result = run_command(shell("kill -KILL $$"));
  EXPECT_EQ(result.returncode, -SIGKILL);
  EXPECT_EQ(result.signal_name, "SIGKILL");
  EXPECT_FALSE(result.timed_out);
}

TEST(Subprocess, CapturesStdoutAndStderrSeparately) {
  CommandResult result = run_command(shell("printf 'to out'; printf 'to err' >&2"));
  EXPECT_EQ(result.stdout_text, "to out");
  EXPECT_EQ(result.stderr_text, "to err");
  EXPECT_FALSE(result.stdout_truncated);
  EXPECT_FALSE(result.stderr_truncated);
}

TEST(Subprocess, ReadsLargeOutputOnBothStreamsWithoutDeadlock) {
  // stderr first: a reader that waited for stdout's end first would hang here for good.
  const std::string script =
      "yes e | head -c 4194304 >&2; yes o | head -c 4194304; yes e | head -c 1000 >&2";
  CommandSpec spec = shell(script);
  spec.timeout = milliseconds{20000};  // a deadlock fails the test instead of hanging it
  CommandResult result = run_command(spec);
  EXPECT_EQ(result.returncode, 0);
  EXPECT_FALSE(result.timed_out);
  EXPECT_EQ(result.stdout_text.size(), 4194304u);
  EXPECT_EQ(result.stderr_text.size(), 4194304u + 1000u);
  EXPECT_EQ(result.stdout_text.substr(0, 4), "o\no\n");
  EXPECT_EQ(result.stderr_text.substr(0, 4), "e\ne\n");
}

TEST(Subprocess, KeepsOnlyOutputCapBytesAndSaysSo) {
  CommandSpec spec = shell("yes 0123456789 | head -c 100000; printf small >&2");
  spec.output_cap = 1000;
  CommandResult result = run_command(spec);
  EXPECT_EQ(result.returncode, 0);  // the rest was read and dropped, so the child never blocked
  EXPECT_EQ(result.stdout_text.size(), 1000u);
  EXPECT_EQ(result.stdout_text.substr(0, 11), "0123456789\n");
  EXPECT_TRUE(result.stdout_truncated);
  EXPECT_EQ(result.stderr_text, "small");
  EXPECT_FALSE(result.stderr_truncated);
}

TEST(Subprocess, OutputExactlyAtTheCapIsNotTruncated) {
  CommandSpec spec = shell("printf 12345");
  spec.output_cap = 5;
  CommandResult result = run_command(spec);
  EXPECT_EQ(result.stdout_text, "12345");
  EXPECT_FALSE(result.stdout_truncated);
}

TEST(Subprocess, MergesEnvironmentOverTheDaemons) {
  ASSERT_EQ(setenv("HARNESS_TEST_INHERITED", "inherited", 1), 0);
  ASSERT_EQ(setenv("HARNESS_TEST_OVERRIDDEN", "old", 1), 0);
  CommandSpec spec = shell(
      "printf '%s|%s|%s' \"$HARNESS_TEST_INHERITED\" \"$HARNESS_TEST_OVERRIDDEN\" "
      "\"$HARNESS_TEST_ADDED\"");
  spec.env = {{"HARNESS_TEST_OVERRIDDEN", "new"}, {"HARNESS_TEST_ADDED", "a b=c"}};
  CommandResult result = run_command(spec);
  unsetenv("HARNESS_TEST_INHERITED");
  unsetenv("HARNESS_TEST_OVERRIDDEN");
  EXPECT_EQ(result.stdout_text, "inherited|new|a b=c");
}

TEST(Subprocess, LooksUpTheProgramInTheChildsPath) {
  TempDir dir;
  write_file((dir.path() / "harness-test-prog").string(), "#!/bin/sh\necho \"ran with $1\"\n",
             0755);
  CommandSpec spec = command({"harness-test-prog", "arg"});
  spec.env = {{"PATH", dir.path().string() + ":/usr/bin:/bin"}};
  CommandResult result = run_command(spec);
  EXPECT_EQ(result.returncode, 0) << result.stderr_text;
  EXPECT_EQ(result.stdout_text, "ran with arg\n");
}

TEST(Subprocess, RunsInTheGivenWorkingDirectory) {
  TempDir dir;
  CommandSpec spec = command({"pwd"});
  spec.cwd = dir.path().string();
  CommandResult result = run_command(spec);
  EXPECT_EQ(result.stdout_text, dir.path().string() + "\n");
}

TEST(Subprocess, ResolvesRelativePathEntriesFromTheChildsDirectory) {
  TempDir dir;
  std::filesystem::create_directory(dir.path() / "bin");
  write_file((dir.path() / "bin/harness-test-tool").string(), "#!/bin/sh\necho tool\n", 0755);
  CommandSpec spec = command({"harness-test-tool"});
  spec.cwd = dir.path().string();
  spec.env = {{"PATH", "bin:/usr/bin:/bin"}};
  CommandResult result = run_command(spec);
  EXPECT_EQ(result.returncode, 0) << result.stderr_text;
  EXPECT_EQ(result.stdout_text, "tool\n");
}

TEST(Subprocess, StdinIsDevNull) {
  CommandResult result = run_command(shell("cat; readlink /proc/self/fd/0"));
  EXPECT_EQ(result.stdout_text, "/dev/null\n");
}

TEST(Subprocess, ChildInheritsNoOtherDescriptors) {
  const int leaky = open("/dev/null", O_RDONLY);  // deliberately without O_CLOEXEC
  ASSERT_GE(leaky, 0);
  const std::string fd = std::to_string(leaky);
  CommandResult result = run_command(
      shell("if test -e /proc/$$/fd/" + fd + "; then echo leaked; else echo clean; fi"));
  close(leaky);
  EXPECT_EQ(result.stdout_text, "clean\n");
}

TEST(Subprocess, MissingProgramIsReportedAs127) {
  CommandResult result = run_command(command({"harness-no-such-program", "x"}));
  EXPECT_EQ(result.returncode, 127);
  EXPECT_FALSE(result.signal_name);
  EXPECT_EQ(result.stderr_text,
            "harness: cannot run 'harness-no-such-program': No such file or directory\n");
  EXPECT_EQ(result.stdout_text, "");
}

TEST(Subprocess, MissingProgramPathIsReportedAs127) {
  CommandResult result = run_command(command({"/nonexistent/harness-prog"}));
  EXPECT_EQ(result.returncode, 127);
  EXPECT_THAT(result.stderr_text, HasSubstr("cannot run '/nonexistent/harness-prog'"));
  EXPECT_THAT(result.stderr_text, HasSubstr("No such file or directory"));
}

// 126, as shells report a program they found but cannot execute (it was 127: issue 13, item 18).
TEST(Subprocess, NonExecutableProgramIsReportedAs126) {
  TempDir dir;
  write_file((dir.path() / "not-executable").string(), "#!/bin/sh\necho hi\n", 0644);
  CommandSpec by_path = command({"./not-executable"});
  by_path.cwd = dir.path().string();
  CommandResult result = run_command(by_path);
  EXPECT_EQ(result.returncode, 126);
  EXPECT_THAT(result.stderr_text, HasSubstr("Permission denied"));

  CommandSpec by_name = command({"not-executable"});
  by_name.env = {{"PATH", dir.path().string()}};
  result = run_command(by_name);
  EXPECT_EQ(result.returncode, 126);
  EXPECT_EQ(result.stderr_text, "harness: cannot run 'not-executable': Permission denied\n");
}

TEST(Subprocess, BadWorkingDirectoryIsReportedAs127) {
  CommandSpec spec = command({"true"});
  spec.cwd = "/nonexistent/harness-dir";
  CommandResult result = run_command(spec);
  EXPECT_EQ(result.returncode, 127);
  EXPECT_EQ(result.stderr_text,
            "harness: cannot run 'true': cannot change directory to '/nonexistent/harness-dir': "
            "No such file or directory\n");

  TempDir dir;
  write_file((dir.path() / "plain-file").string(), "");
  spec.cwd = (dir.path() / "plain-file").string();
  result = run_command(spec);
  EXPECT_EQ(result.returncode, 127);
  EXPECT_THAT(result.stderr_text, HasSubstr("Not a directory"));
}

TEST(Subprocess, RejectsMalformedSpecs) {
  EXPECT_THROW(run_command(CommandSpec{}), Error);
  try {
    run_command(CommandSpec{});
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kInvalidArgument);
  }
  EXPECT_THROW(run_command(command({"echo", std::string("a\0b", 3)})), Error);
  CommandSpec bad_env = command({"true"});
  bad_env.env = {{"A=B", "x"}};
  EXPECT_THROW(run_command(bad_env), Error);
  bad_env.env = {{"", "x"}};
  EXPECT_THROW(run_command(bad_env), Error);
}

TEST(Subprocess, TimeoutSendsSigtermAndSaysSo) {
  CommandSpec spec = command({"sleep", "10"});
  spec.timeout = milliseconds{200};
  CommandResult result = run_command(spec);
  EXPECT_EQ(result.returncode, -15);
  EXPECT_EQ(result.signal_name, "SIGTERM");
  EXPECT_TRUE(result.timed_out);
  EXPECT_GE(result.duration_ms, 190);
  EXPECT_LT(result.duration_ms, 3000);
}

TEST(Subprocess, ChildIgnoringSigtermGetsSigkillAfterTheGrace) {
  CommandSpec spec = shell("trap '' TERM; sleep 10");
  spec.timeout = milliseconds{300};
  spec.kill_grace = milliseconds{200};
  CommandResult result = run_command(spec);
  EXPECT_EQ(result.returncode, -9);
  EXPECT_EQ(result.signal_name, "SIGKILL");
  EXPECT_TRUE(result.timed_out);
  EXPECT_GE(result.duration_ms, 450);
  EXPECT_LT(result.duration_ms, 3000);
}

TEST(Subprocess, ChildThatExitsOnSigtermReportsItsOwnStatus) {
  // The shell turns SIGTERM into exit 7: that, not the signal, is how the child ended.
  CommandSpec spec = shell("trap 'exit 7' TERM; sleep 10 & wait");
  spec.timeout = milliseconds{300};
  CommandResult result = run_command(spec);
  EXPECT_EQ(result.returncode, 7);
  EXPECT_FALSE(result.signal_name);
  EXPECT_TRUE(result.timed_out);
}

TEST(Subprocess, TimeoutKillsTheWholeProcessGroup) {
  TempDir dir;
  const std::string pid_file = (dir.path() / "grandchild.pid").string();
  CommandSpec spec = shell("sleep 30 & echo $! > '" + pid_file + "'; wait");
  spec.timeout = milliseconds{300};
  CommandResult result = run_command(spec);
  EXPECT_EQ(result.signal_name, "SIGTERM");
  const pid_t grandchild = read_pid(pid_file);
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(eventually([&] { return !process_running(grandchild); }));
}

TEST(Subprocess, TimeoutLeavesNoSurvivorInTheGroup) {
  // The grandchild shrugs off SIGTERM; once the child itself is gone the group gets SIGKILL.
  TempDir dir;
  const std::string pid_file = (dir.path() / "grandchild.pid").string();
  CommandSpec spec = shell("(trap '' TERM; exec sleep 30) & echo $! > '" + pid_file + "'; wait");
  spec.timeout = milliseconds{300};
  spec.kill_grace = milliseconds{5000};
  CommandResult result = run_command(spec);
  EXPECT_EQ(result.signal_name, "SIGTERM");
  EXPECT_LT(result.duration_ms, 3000);  // the child died of SIGTERM; no need to sit out the grace
  const pid_t grandchild = read_pid(pid_file);
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(eventually([&] { return !process_running(grandchild); }));
}

TEST(Subprocess, GrandchildKeepingThePipesOpenDoesNotHang) {
  CommandSpec spec = shell("sleep 30 & echo $!");
  const auto before = std::chrono::steady_clock::now();
  CommandResult result = run_command(spec);
  const auto took = std::chrono::steady_clock::now() - before;
  EXPECT_EQ(result.returncode, 0);
  EXPECT_LT(took, milliseconds{2000});
  const pid_t grandchild = std::atoi(result.stdout_text.c_str());
  ASSERT_GT(grandchild, 0);
  // Nothing of the command outlives it (issue 13, item 18: this background job was left running).
  EXPECT_TRUE(eventually([&] { return !process_running(grandchild); }));
}

TEST(Subprocess, ABackgroundJobIgnoringSigtermGetsSigkillAfterTheGrace) {
  CommandSpec spec = shell("(trap '' TERM; exec sleep 30) & echo $!");
  spec.kill_grace = milliseconds{200};
  CommandResult result = run_command(spec);
  EXPECT_EQ(result.returncode, 0);
  const pid_t grandchild = std::atoi(result.stdout_text.c_str());
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(eventually([&] { return !process_running(grandchild); }));
}

TEST(Subprocess, AProcessThatLeftTheGroupIsNotKilled) {
  TempDir dir;
  const std::string pid_file = (dir.path() / "detached.pid").string();
  // The command ends only once the job has left its group (the file is written after setsid).
  CommandSpec spec =
      shell("setsid sh -c 'echo $$ > \"$0\"; exec sleep 30' '" + pid_file +
            "' >/dev/null 2>&1 & while [ ! -s '" + pid_file + "' ]; do sleep 0.01; done");
  CommandResult result = run_command(spec);
  EXPECT_EQ(result.returncode, 0);
  const pid_t detached = read_pid(pid_file);
  ASSERT_GT(detached, 0);
  EXPECT_TRUE(process_running(detached));
  kill(detached, SIGKILL);
}

TEST(Subprocess, StopTokenCancelsTheCommand) {
  TempDir dir;
  const std::string marker = (dir.path() / "started").string();
  std::stop_source stop;
  std::thread canceller([&] {
    if (eventually([&] { return std::filesystem::exists(marker); })) stop.request_stop();
  });
  CommandSpec spec = shell("touch '" + marker + "'; sleep 30 & wait");
  spec.timeout = milliseconds{10000};  // the test fails rather than hangs if stop is ignored
  CommandResult result = run_command(spec, stop.get_token());
  canceller.join();
  EXPECT_EQ(result.returncode, -15);
  EXPECT_EQ(result.signal_name, "SIGTERM");
  EXPECT_FALSE(result.timed_out);
  EXPECT_LT(result.duration_ms, 5000);
}

TEST(Subprocess, StopRequestedBeforehandEndsTheCommandAtOnce) {
  std::stop_source stop;
  stop.request_stop();
  CommandSpec spec = command({"sleep", "30"});
  spec.kill_grace = milliseconds{200};
  CommandResult result = run_command(spec, stop.get_token());
  EXPECT_LT(result.returncode, 0);
  EXPECT_TRUE(result.signal_name);
  EXPECT_LT(result.duration_ms, 2000);
}

TEST(Subprocess, BlockedOrIgnoredSigtermInTheDaemonDoesNotReachTheChild) {
  // A daemon that handles SIGTERM itself blocks it; one that shrugs it off ignores it.
  // Neither may make its commands immune to a timeout.
  sigset_t term;
  sigset_t previous_mask;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &term, &previous_mask), 0);
  struct sigaction ignore {};
  struct sigaction previous_action {};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(sigaction(SIGTERM, &ignore, &previous_action), 0);

  CommandSpec spec = command({"sleep", "10"});
  spec.timeout = milliseconds{200};
  CommandResult result = run_command(spec);

  sigaction(SIGTERM, &previous_action, nullptr);
  pthread_sigmask(SIG_SETMASK, &previous_mask, nullptr);
  EXPECT_EQ(result.signal_name, "SIGTERM");
}

TEST(Subprocess, FinishesQuicklyWithoutATimeout) {
  CommandSpec spec = shell("sleep 0.2; echo done");
  spec.timeout = milliseconds{10000};
  CommandResult result = run_command(spec);
  EXPECT_EQ(result.stdout_text, "done\n");
  EXPECT_FALSE(result.timed_out);
  EXPECT_GE(result.duration_ms, 190);
  EXPECT_LT(result.duration_ms, 3000);
}

TEST(Subprocess, HugeTimeoutsDoNotOverflow) {
  CommandSpec spec = command({"true"});
  spec.timeout = milliseconds::max();
  spec.kill_grace = milliseconds::max();
  CommandResult result = run_command(spec);
  EXPECT_EQ(result.returncode, 0);
  EXPECT_FALSE(result.timed_out);
}

TEST(Subprocess, LeaksNoDescriptors) {
  const int before = count_open_fds();
  run_command(shell("echo out; echo err >&2"));
  run_command(command({"harness-no-such-program"}));
  CommandSpec bad_cwd = command({"true"});
  bad_cwd.cwd = "/nonexistent";
  run_command(bad_cwd);
  CommandSpec with_cwd = command({"true"});
  with_cwd.cwd = "/";
  run_command(with_cwd);
  CommandSpec timed = command({"sleep", "10"});
  timed.timeout = milliseconds{50};
  run_command(timed);
  CommandSpec capped = shell("yes | head -c 100000");
  capped.output_cap = 10;
  run_command(capped);
  EXPECT_EQ(count_open_fds(), before);
}

}  // namespace
}  // namespace harness
