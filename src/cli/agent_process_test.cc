#include "cli/agent_process.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "testing/temp_dir.h"

namespace harness {
namespace {

namespace fs = std::filesystem;

// A fake /proc: each process gets a stat line and a cmdline, as the kernel writes them.
class FakeProc {
 public:
  void add(pid_t pid, pid_t ppid, const std::string& comm, unsigned long long start,
           const std::vector<std::string>& argv = {}) {
    const fs::path dir = dir_.path() / std::to_string(pid);
    fs::create_directories(dir);
    std::ofstream(dir / "stat") << pid << " (" << comm << ") S " << ppid
                                << " 1 1 0 -1 4194304 98 0 0 0 0 0 0 0 20 0 1 0 " << start
                                << " 3133440 411\n";
    std::string cmdline;
    for (const std::string& a : argv) cmdline += a + '\0';
    std::ofstream(dir / "cmdline", std::ios::binary) << cmdline;
  }
  const fs::path& root() const { return dir_.path(); }

 private:
  test_support::TempDir dir_;
};

TEST(AgentProcess, ReadsStatWithAWeirdName) {
  FakeProc proc;
  proc.add(42, 7, "a (b) c", 12345, {"x", "y z"});
  auto p = read_process(proc.root(), 42);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->comm, "a (b) c");
  EXPECT_EQ(p->ppid, 7);
  EXPECT_EQ(p->start, 12345u);
  EXPECT_EQ(p->argv, (std::vector<std::string>{"x", "y z"}));
  EXPECT_FALSE(read_process(proc.root(), 43).has_value());
}

TEST(AgentProcess, WalksPastShellsAndWrappersToTheAgent) {
  FakeProc proc;
  proc.add(1, 0, "systemd", 1);
  proc.add(100, 1, "claude", 500);
  proc.add(200, 100, "bash", 600);
  proc.add(300, 200, "timeout", 700);
  proc.add(400, 300, "env", 800);
  proc.add(450, 400, "python3", 850, {"python3", "-m", "harness", "task", "claim"});
  proc.add(500, 450, "harness", 900);
  auto agent = find_agent_process(proc.root(), 500, "boot");
  ASSERT_TRUE(agent.has_value());
  EXPECT_EQ(agent->process.pid, 100);
  EXPECT_TRUE(std::regex_match(agent->worker_id, std::regex("claude-100-[0-9a-f]{8}")))
      << agent->worker_id;
  // The same agent, through another chain of wrappers, is the same worker.
  proc.add(600, 100, "sh", 950);
  proc.add(700, 600, "harness", 960);
  EXPECT_EQ(find_agent_process(proc.root(), 700, "boot")->worker_id, agent->worker_id);
}

TEST(AgentProcess, TwoAgentsNeverShareAnId) {
  FakeProc proc;
  proc.add(100, 1, "node", 500);
  proc.add(101, 100, "bash", 510);
  proc.add(102, 101, "harness", 520);
  proc.add(200, 1, "node", 501);
  proc.add(201, 200, "bash", 511);
  proc.add(202, 201, "harness", 521);
  EXPECT_NE(find_agent_process(proc.root(), 102, "boot")->worker_id,
            find_agent_process(proc.root(), 202, "boot")->worker_id);
}

TEST(AgentProcess, AReusedPidIsAnotherAgent) {
  FakeProc before, after;
  before.add(100, 1, "node", 500);
  after.add(100, 1, "node", 9000);  // same pid, started later: another process
  const auto a = find_agent_process(before.root(), 100, "boot");
  const auto b = find_agent_process(after.root(), 100, "boot");
  EXPECT_NE(a->worker_id, b->worker_id);
  EXPECT_NE(a->worker_id, find_agent_process(before.root(), 100, "other-boot")->worker_id);
}

TEST(AgentProcess, BelowASessionRootTheTopmostShellIsTheSession) {
  FakeProc proc;
  proc.add(1, 0, "init", 1);
  proc.add(50, 1, "sshd", 10);
  proc.add(60, 50, "bash", 20);  // a person's login shell
  proc.add(70, 60, "sh", 30);
  proc.add(80, 70, "harness", 40);
  auto agent = find_agent_process(proc.root(), 80, "boot");
  ASSERT_TRUE(agent.has_value());
  EXPECT_EQ(agent->process.pid, 60);
  EXPECT_EQ(agent->worker_id.rfind("bash-60-", 0), 0u);
}

TEST(AgentProcess, NothingUsableIsNotAnId) {
  FakeProc proc;
  proc.add(1, 0, "init", 1);
  proc.add(80, 1, "harness", 40);
  EXPECT_FALSE(find_agent_process(proc.root(), 80, "boot").has_value());
  EXPECT_FALSE(find_agent_process(proc.root() / "missing", 80, "boot").has_value());
}

TEST(AgentProcess, NamesAreMadeSafeForAnId) {
  FakeProc proc;
  proc.add(100, 1, "my agent/1", 500);
  EXPECT_EQ(find_agent_process(proc.root(), 100, "b")->worker_id.rfind("my_agent_1-100-", 0), 0u);
}

TEST(AgentProcess, ThisProcessIsItsOwnAgent) {
  auto agent = current_agent_process();
  ASSERT_TRUE(agent.has_value());
  EXPECT_EQ(agent->process.pid, ::getpid());
  EXPECT_EQ(current_agent_process()->worker_id, agent->worker_id);
}

}  // namespace
}  // namespace harness
