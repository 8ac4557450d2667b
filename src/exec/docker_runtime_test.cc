// The container runtime against the stand-in `docker` of the Python suite
// (tests/harness/fakes/docker: no Docker engine runs here), and its path mapping and argv.
#include "exec/docker_runtime.h"

#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "testing/scoped_env.h"
#include "testing/temp_dir.h"

namespace harness {
namespace {

namespace fs = std::filesystem;
using test_support::ScopedEnv;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

const fs::path kFakeDocker =
    fs::path(__FILE__).parent_path().parent_path().parent_path() / "tests/harness/fakes/docker";

TEST(ContainerPathsTest, MapsPathsUnderTheHostRootAndNothingElse) {
  const ContainerPaths paths("/host/ws/", "/ws/");
  EXPECT_EQ(paths.to_container("/host/ws/src/a"), "/ws/src/a");
  EXPECT_EQ(paths.to_container("/host/ws"), "/ws");
  EXPECT_EQ(paths.to_container("/host/ws/"), "/ws");
  EXPECT_EQ(paths.to_container("/host/wsx"), std::nullopt);
  EXPECT_EQ(paths.to_container("/host"), std::nullopt);
  EXPECT_EQ(paths.to_container("/elsewhere/ws"), std::nullopt);
  EXPECT_EQ(ContainerPaths().to_container("/any/path"), "/any/path");
}

TEST(ContainerPathsTest, RootsGoTogetherAndAreAbsolute) {
  EXPECT_THROW(ContainerPaths("/host", ""), Error);
  EXPECT_THROW(ContainerPaths("", "/ws"), Error);
  EXPECT_THROW(ContainerPaths("host", "/ws"), Error);
}

TEST(DockerRuntimeTest, ExecArgvMapsTheCommandOntoDockerExec) {
  DockerRuntime docker({"box", ContainerPaths(), "docker", "1000:100"});
  CommandSpec spec;
  spec.args = {"make", "-j2"};
  spec.env = {{"FOO", "bar"}, {"PATH", "/host/bin"}, {"HOME", "/home/me"}};
  const std::vector<std::string> argv = docker.exec_argv(spec, "/ws/src", "tok");
  EXPECT_THAT(argv, ElementsAre("docker", "exec", "-w", "/ws/src", "-e", "FOO=bar", "-e",
                                "HARNESS_RUN=tok", "--user", "1000:100", "box", "sh", "-c",
                                testing::_, "harness", "make", "-j2"));
  EXPECT_THAT(argv, Not(Contains("-i")));
  EXPECT_THAT(docker.kill_argv("tok", "TERM"),
              ElementsAre("docker", "exec", "--user", "1000:100", "box", "sh", "-c", testing::_,
                          "harness-kill", "tok", "TERM"));
}

class FakeDockerTest : public testing::Test {
 protected:
  test_support::TempDir dir{"harness-docker"};
  ScopedEnv log{"FAKE_DOCKER_LOG", (dir.path() / "docker.log").string()};
  ScopedEnv root{"FAKE_DOCKER_ROOT", "/"};
  DockerRuntime docker{{"box", ContainerPaths(), kFakeDocker.string(), ""}};

  CommandSpec spec(std::vector<std::string> args) {
    CommandSpec s;
    s.args = std::move(args);
    s.cwd = dir.path().string();
    s.kill_grace = std::chrono::milliseconds(500);
    return s;
  }
};

TEST_F(FakeDockerTest, RunsTheCommandWithItsEnvironmentInItsDirectory) {
  CommandSpec s = spec({"sh", "-c", "echo \"$FOO\"; pwd -P"});
  s.env = {{"FOO", "bar"}};
  const CommandResult r = docker.run(s, {}, nullptr);
  EXPECT_EQ(r.returncode, 0) << r.stderr_text;
  EXPECT_EQ(r.stdout_text, "bar\n" + fs::canonical(dir.path()).string() + "\n");
}

TEST_F(FakeDockerTest, AProgramTheContainerLacksIs127) {
  const CommandResult r = docker.run(spec({"no-such-program-x"}), {}, nullptr);
  EXPECT_EQ(r.returncode, 127);
  EXPECT_THAT(r.stderr_text, HasSubstr("harness: cannot run 'no-such-program-x'"));
}

TEST_F(FakeDockerTest, ATimeoutKillsTheCommandInsideAndReportsTheSignal) {
  const fs::path pid_file = dir.path() / "pid";
  CommandSpec s = spec({"sh", "-c", "echo $$ > " + pid_file.string() + "; exec sleep 300"});
  s.timeout = std::chrono::milliseconds(300);
  const CommandResult r = docker.run(s, {}, nullptr);
  EXPECT_EQ(r.returncode, -SIGTERM);
  EXPECT_EQ(r.signal_name, "SIGTERM");
  EXPECT_TRUE(r.timed_out);
  // The fake's command runs in a session of its own, as in a container: only the kill run
  // through `docker exec` reaches it. Its parent, the fake client, has reaped it.
  pid_t pid = 0;
  std::ifstream(pid_file) >> pid;
  ASSERT_GT(pid, 0);
  EXPECT_NE(::kill(pid, 0), 0);
}

TEST_F(FakeDockerTest, CancellingKillsTheCommandInsideWithoutATimeout) {
  const fs::path started = dir.path() / "started";
  std::stop_source stop;
  // Cancels once the command runs (the client going away, as the daemon sees it).
  std::jthread canceller([&] {
    for (int i = 0; i < 3000 && !fs::exists(started); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    stop.request_stop();
  });
  const CommandResult r =
      docker.run(spec({"sh", "-c", "touch " + started.string() + "; exec sleep 300"}),
                 stop.get_token(), nullptr);
  EXPECT_EQ(r.returncode, -SIGTERM);
  EXPECT_FALSE(r.timed_out);
}

TEST_F(FakeDockerTest, TheCheckRefusesAStoppedOrUnknownContainerOrAnUnreachableEngine) {
  EXPECT_NO_THROW(docker.check());
  {
    ScopedEnv state("FAKE_DOCKER_STATE", "stopped");
    try {
      docker.check();
      ADD_FAILURE() << "a stopped container passed";
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr("container box: it is not running"));
    }
  }
  {
    ScopedEnv state("FAKE_DOCKER_STATE", "missing");
    EXPECT_THROW(docker.check(), Error);
  }
  ScopedEnv info("FAKE_DOCKER_INFO", "down");
  try {
    docker.check();
    ADD_FAILURE() << "an unreachable engine passed";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("info` failed"));
  }
}

TEST(CommandRuntimeTest, NoContainerMeansThisMachine) {
  ScopedEnv container("HARNESS_CONTAINER_ID", std::nullopt);
  const RuntimeConfig config = RuntimeConfig::from_environment();
  EXPECT_TRUE(config.container.empty());
  EXPECT_EQ(open_command_runtime(config)->description(), "this machine");
  EXPECT_EQ(RuntimeConfig::from_environment(std::string("box")).container, "box");
}

}  // namespace
}  // namespace harness
