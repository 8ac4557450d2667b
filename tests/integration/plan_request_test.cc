// Whole plans through the socket (docs/protocol.md, "Limits and bad input"): update_state and
// plan_import with inline tasks longer than the 1 MiB of other requests, from the socket, the
// CLI, and pipelined with other requests; and the daemon's peak memory importing a plan of a
// hundred thousand tasks that way.
#include <gtest/gtest.h>

#include <fstream>
#include <iostream>

#include "protocol/request_codec.h"
#include "reliability/reliability_util.h"
#include "testing/run_program.h"
#include "testing/scratch_worktree.h"
#include "testing/socket_client.h"
#include "testing/test_daemon.h"

namespace harness::testing {
namespace {

using namespace test_support;  // NOLINT: the test library (tests/testing)
using reliability::kMemoryBoundKiB;
using reliability::proc_status_kib;

namespace fs = std::filesystem;

// `n` tasks in layers of 100, each after the task of the layer before, with a description of
// the length of a real one.
Workflow layered_plan(int n) {
  Workflow plan;
  plan.tasks.reserve(n);
  for (int i = 0; i < n; ++i) {
    Task task;
    task.id = "t" + std::to_string(i);
    task.description = "Task " + std::to_string(i) + ": " + std::string(40, 'd');
    if (i >= 100) task.dependencies.push_back("t" + std::to_string(i - 100));
    plan.tasks.push_back(std::move(task));
  }
  return plan;
}

class PlanRequestTest : public ::testing::Test {
 protected:
  ScratchWorktree worktree;
  std::unique_ptr<TestDaemon> daemon =
      std::make_unique<TestDaemon>(worktree.socket(), worktree.path());

  Json call(const Json& request) { return SocketClient(worktree.socket()).call(request); }
  Json total_tasks() { return call({{"command", "status"}})["data"]["total"]; }
};

TEST_F(PlanRequestTest, ATwentyThousandTaskUpdateStateGoesThroughTheSocket) {
  const std::string line = encode_request(UpdateStateRequest{layered_plan(20000)});
  ASSERT_GT(line.size(), 4u << 20);
  SocketClient c(worktree.socket());
  const Json reply = parse_json(c.request(line));
  ASSERT_EQ(reply["status"], "ok") << reply.dump().substr(0, 300);
  EXPECT_EQ(reply["data"]["tasks"].size(), 20000u);
  EXPECT_EQ(reply["data"]["tasks"]["t19999"]["dependencies"], Json::array({"t19899"}));
  EXPECT_EQ(total_tasks(), 20000);
}

TEST_F(PlanRequestTest, TheCliSendsATwentyThousandTaskPlan) {
  const fs::path plan = worktree.path().parent_path() / "plan.json";
  std::ofstream(plan) << workflow_to_json(layered_plan(20000)).dump();
  const RunResult r =
      run_harness({"update-state", "--file", plan.string()}, worktree.socket(), worktree.path());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(total_tasks(), 20000);
}

TEST_F(PlanRequestTest, RequestsSentRightAfterAPlanAreAnsweredInOrder) {
  const std::string plan = encode_request(PlanImportRequest{layered_plan(10000)});
  ASSERT_GT(plan.size(), 1u << 20);
  SocketClient c(worktree.socket());
  c.send_raw(plan + "\n" + R"({"command":"status"})" + "\n" + R"({"command":"ping"})" + "\n");
  EXPECT_EQ(parse_json(c.read_line())["data"]["imported"], 10000);
  EXPECT_EQ(parse_json(c.read_line())["data"]["total"], 10000);
  EXPECT_EQ(parse_json(c.read_line())["status"], "ok");
}

// The target of docs/performance.md: the daemon's peak resident memory while it imports a plan
// of 100,000 tasks sent inline, on a daemon of its own. A sanitizer's build is several times
// slower and its memory means nothing here: it imports a fifth of the plan.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr int kLargePlanTasks = 20000;
#else
constexpr int kLargePlanTasks = 100000;
#endif

TEST_F(PlanRequestTest, AHundredThousandTaskImportThroughTheSocketStaysWithinTheMemoryBound) {
  std::string line = encode_request(PlanImportRequest{layered_plan(kLargePlanTasks)});
  const std::size_t line_bytes = line.size();
  SocketClient c(worktree.socket());
  c.send_raw(line + "\n");
  std::string().swap(line);
  const Json reply = parse_json(c.read_line());
  ASSERT_EQ(reply["status"], "ok") << reply.dump();
  EXPECT_EQ(reply["data"]["imported"], kLargePlanTasks);
  const long peak = proc_status_kib(daemon->pid(), "VmHWM");
  EXPECT_LT(peak, kMemoryBoundKiB) << "the daemon's peak resident memory exceeds the bound";
  std::cout << "[ figures  ] " << kLargePlanTasks
            << "-task plan_import through the socket: line_bytes=" << line_bytes
            << " daemon_peak_rss_kib=" << peak << std::endl;
  EXPECT_EQ(total_tasks(), kLargePlanTasks);
}

}  // namespace
}  // namespace harness::testing
