// Drives the real harness binary over its socket: concurrency races, durability through
// kill -9, bad input of every kind, and the daemon's life cycle.
#include <sys/stat.h>
#include <sys/wait.h>

#include <atomic>
#include <fstream>
#include <future>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include "testing/run_program.h"
#include "testing/scratch_worktree.h"
#include "testing/socket_client.h"
#include "testing/test_daemon.h"

namespace harness::testing {
namespace {

using namespace test_support;  // NOLINT: the test library (tests/testing)

namespace fs = std::filesystem;

class DaemonTest : public ::testing::Test {
 protected:
  ScratchWorktree worktree;
  std::unique_ptr<TestDaemon> daemon =
      std::make_unique<TestDaemon>(worktree.socket(), worktree.path());

  Json call(const Json& request) { return SocketClient(worktree.socket()).call(request); }
  void load_independent_tasks(int n) {
    ASSERT_EQ(call(independent_tasks_request(n))["status"], "ok");
  }
};

TEST_F(DaemonTest, PingReportsPidAndWorktree) {
  Json reply = call({{"command", "ping"}});
  EXPECT_EQ(reply["status"], "ok");
  EXPECT_EQ(reply["data"]["running"], true);
  EXPECT_EQ(reply["data"]["pid"], daemon->pid());
  EXPECT_EQ(reply["data"]["worktree"], worktree.path().string());
}

TEST_F(DaemonTest, SocketIsPrivate) {
  struct stat st;
  ASSERT_EQ(::stat(worktree.socket().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
}

TEST_F(DaemonTest, SecondDaemonOnTheSameSocketExitsNonZero) {
  RunResult second = run_harness(
      {"daemon", "--socket", worktree.socket().string(), "--worktree", worktree.path().string()},
      worktree.socket(), worktree.path());
  EXPECT_NE(second.status, 0);
  EXPECT_NE(second.err.find("Another daemon is already running"), std::string::npos) << second.err;
  EXPECT_EQ(call({{"command", "ping"}})["status"], "ok");
}

TEST_F(DaemonTest, SigtermRemovesSocketAndLock) {
  const int status = daemon->terminate_and_wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_FALSE(fs::exists(worktree.socket()));
  EXPECT_FALSE(fs::exists(worktree.socket().string() + ".lock"));
}

TEST_F(DaemonTest, ShutdownRequestStopsTheDaemon) {
  EXPECT_EQ(call({{"command", "shutdown"}}),
            Json::parse(R"({"status":"ok","data":{"shutdown":true}})"));
  const int status = daemon->wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_FALSE(fs::exists(worktree.socket()));
}

TEST_F(DaemonTest, BadRequestsGetErrorsNamingTheProblemAndTheConnectionStaysUsable) {
  SocketClient c(worktree.socket());
  const std::pair<const char*, const char*> cases[] = {
      {"{not json", "invalid JSON"},
      {"[1,2]", "must be a JSON object"},
      {"\"ping\"", "must be a JSON object"},
      {R"({"command":"frobnicate"})", "unknown command 'frobnicate'"},
      {R"({"no_command":1})", "missing field 'command'"},
      {R"({"command":7})", "field 'command' must be a string"},
      {R"({"command":"task_claim"})", "missing field 'worker_id'"},
      {R"({"command":"task_claim","worker_id":5})", "field 'worker_id' must be a non-empty string"},
      {R"({"command":"task_complete","worker_id":"w"})", "missing field 'task_id'"},
      {R"({"command":"exec","args":"ls"})", "field 'args' must be a non-empty list of strings"},
      {R"({"command":"exec","args":["true"],"timeout":-1})",
       "field 'timeout' must be a positive number"},
      {R"({"command":"update_state","updates":{"tasks":{"a":{"dependencies":["a"]}}}})",
       "Cycle detected at a"},
      {R"({"command":"update_state","updates":{"tasks":{"a":{"dependencies":["ghost"]}}}})",
       "Missing dependency: ghost (required by a)"},
      {R"({"command":"git","args":["-c","core.pager=evil","log"]})", "not allowed"},
      {R"({"command":"git","args":["log"],"env":{"GIT_SSH_COMMAND":"evil"}})", "not allowed"},
      {"", "invalid JSON"},
  };
  for (const auto& [request, expected] : cases) {
    Json reply = parse_json(c.request(request));
    EXPECT_EQ(reply["status"], "error") << request;
    EXPECT_NE(reply.value("message", "").find(expected), std::string::npos)
        << request << " -> " << reply.value("message", "");
  }
  EXPECT_EQ(parse_json(c.request(R"({"command":"ping"})"))["status"], "ok");
}

TEST_F(DaemonTest, OverlongLineGetsAnErrorAndTheConnectionIsClosed) {
  SocketClient c(worktree.socket());
  std::string huge = R"({"command":"ping","pad":")" + std::string(2 << 20, 'x') + "\"}\n";
  std::thread writer([&] {
    try {
      c.send_raw(huge);
    } catch (const std::exception&) {
      // the daemon closes the connection mid-send; that is the expected outcome
    }
  });
  Json reply = parse_json(c.read_line());
  writer.join();
  EXPECT_EQ(reply["status"], "error");
  EXPECT_NE(reply["message"].get<std::string>().find("exceeds"), std::string::npos);
  EXPECT_EQ(c.read_line(), "");  // closed
  EXPECT_EQ(call({{"command", "ping"}})["status"], "ok");
}

TEST_F(DaemonTest, SilentPartialAndVanishingClientsDoNotBlockOthers) {
  SocketClient silent(worktree.socket());  // connects, sends nothing
  SocketClient partial(worktree.socket());
  partial.send_raw(R"({"command":"pi)");                          // half a request, never finished
  { SocketClient(worktree.socket()).send_raw(R"({"command")"); }  // disconnects mid-request
  for (int i = 0; i < 20; ++i) EXPECT_EQ(call({{"command", "ping"}})["status"], "ok");
}

TEST_F(DaemonTest, ManyRequestsOnOneConnection) {
  load_independent_tasks(5);
  SocketClient c(worktree.socket());
  for (int i = 0; i < 5; ++i) {
    Json claim = c.call({{"command", "task_claim"}, {"worker_id", "w"}});
    const std::string id = claim["data"]["task"]["id"];
    EXPECT_EQ(id, "t" + std::to_string(i));
    EXPECT_EQ(c.call({{"command", "task_complete"}, {"task_id", id}, {"worker_id", "w"}})["status"],
              "ok");
  }
  EXPECT_TRUE(c.call({{"command", "task_claim"}, {"worker_id", "w"}})["data"]["task"].is_null());
}

TEST_F(DaemonTest, ExactlyOneOf32ClientsWinsTheRaceForOneTask) {
  load_independent_tasks(1);
  std::vector<SocketClient> clients;
  for (int i = 0; i < 32; ++i) clients.emplace_back(worktree.socket());
  std::atomic<bool> go{false};
  std::vector<std::future<Json>> replies;
  for (int i = 0; i < 32; ++i) {
    replies.push_back(std::async(std::launch::async, [&, i] {
      while (!go.load()) std::this_thread::yield();
      return clients[i].call({{"command", "task_claim"}, {"worker_id", "w" + std::to_string(i)}});
    }));
  }
  go = true;
  int winners = 0;
  for (auto& f : replies) {
    Json reply = f.get();
    ASSERT_EQ(reply["status"], "ok");
    if (!reply["data"]["task"].is_null()) ++winners;
  }
  EXPECT_EQ(winners, 1);
}

TEST_F(DaemonTest, SixteenWorkersDrain300TasksEachCompletedExactlyOnce) {
  load_independent_tasks(300);
  std::mutex mutex;
  std::multiset<std::string> completed;
  std::vector<std::thread> workers;
  for (int w = 0; w < 16; ++w) {
    workers.emplace_back([&, w] {
      SocketClient c(worktree.socket());
      const std::string me = "worker-" + std::to_string(w);
      for (;;) {
        Json claim = c.call({{"command", "task_claim"}, {"worker_id", me}});
        if (claim["data"]["task"].is_null()) return;
        const std::string id = claim["data"]["task"]["id"];
        Json done = c.call({{"command", "task_complete"}, {"task_id", id}, {"worker_id", me}});
        if (done["status"] == "ok") {
          std::lock_guard lock(mutex);
          completed.insert(id);
        }
      }
    });
  }
  for (auto& t : workers) t.join();
  EXPECT_EQ(completed.size(), 300u);
  EXPECT_EQ(std::set<std::string>(completed.begin(), completed.end()).size(), 300u);
  Json state = call({{"command", "get_state"}});
  for (const auto& [id, task] : state["data"]["tasks"].items())
    EXPECT_EQ(task["status"], "completed") << id;
}

TEST_F(DaemonTest, AcknowledgedCompletionsSurviveKill9) {
  load_independent_tasks(200);
  std::vector<std::string> acknowledged;
  {
    SocketClient c(worktree.socket());
    for (int i = 0; i < 120; ++i) {
      Json claim = c.call({{"command", "task_claim"}, {"worker_id", "w"}});
      const std::string id = claim["data"]["task"]["id"];
      if (c.call({{"command", "task_complete"}, {"task_id", id}, {"worker_id", "w"}})["status"] ==
          "ok")
        acknowledged.push_back(id);
    }
  }
  daemon->kill_hard();
  daemon = std::make_unique<TestDaemon>(worktree.socket(), worktree.path());
  Json tasks = call({{"command", "get_state"}})["data"]["tasks"];
  for (const std::string& id : acknowledged) EXPECT_EQ(tasks[id]["status"], "completed") << id;
  EXPECT_EQ(acknowledged.size(), 120u);
}

TEST_F(DaemonTest, LongExecDoesNotDelayClaims) {
  load_independent_tasks(3);
  std::atomic<bool> exec_done{false};
  std::thread long_exec([&] {
    call({{"command", "exec"}, {"args", {"sleep", "3"}}});
    exec_done = true;
  });
  for (int i = 0; i < 3; ++i)
    EXPECT_FALSE(
        call({{"command", "task_claim"}, {"worker_id", "w" + std::to_string(i)}})["data"]["task"]
            .is_null());
  EXPECT_FALSE(exec_done.load()) << "claims were answered only after the exec finished";
  long_exec.join();
}

TEST_F(DaemonTest, ExecReportsOutputSignalAndMissingProgram) {
  Json ok = call({{"command", "exec"}, {"args", {"sh", "-c", "echo out; echo err >&2; exit 3"}}});
  EXPECT_EQ(ok["data"]["returncode"], 3);
  EXPECT_EQ(ok["data"]["stdout"], "out\n");
  EXPECT_EQ(ok["data"]["stderr"], "err\n");
  EXPECT_FALSE(ok["data"].contains("signal_name"));

  Json killed = call({{"command", "exec"}, {"args", {"sleep", "10"}}, {"timeout", 0.2}});
  EXPECT_EQ(killed["data"]["returncode"], -15);
  EXPECT_EQ(killed["data"]["signal_name"], "SIGTERM");
  EXPECT_EQ(killed["data"]["timed_out"], true);

  Json missing = call({{"command", "exec"}, {"args", {"no-such-program-xyz"}}});
  EXPECT_EQ(missing["status"], "ok");
  EXPECT_EQ(missing["data"]["returncode"], 127);
  EXPECT_NE(missing["data"]["stderr"].get<std::string>().find("no-such-program-xyz"),
            std::string::npos);

  Json env = call({{"command", "exec"},
                   {"args", {"sh", "-c", "echo $FOO; pwd"}},
                   {"env", {{"FOO", "bar"}}},
                   {"cwd", "/"}});
  EXPECT_EQ(env["data"]["stdout"], "bar\n/\n");
}

TEST_F(DaemonTest, TrajectoryRecordsEventsAfterTheyHappen) {
  load_independent_tasks(1);
  call({{"command", "task_claim"}, {"worker_id", "w"}});
  call({{"command", "task_complete"}, {"task_id", "t0"}, {"worker_id", "w"}});
  call({{"command", "exec"}, {"args", {"echo", "hello"}}});
  daemon->terminate_and_wait();  // flushes the log
  RunResult log = run_harness({"log", "--tail", "50"}, worktree.socket(), worktree.path());
  std::vector<std::string> events;
  std::vector<Json> bodies;
  std::istringstream lines(log.out);
  for (std::string line; std::getline(lines, line);) {
    Json event = parse_json(line);
    EXPECT_TRUE(event.contains("ts"));
    events.push_back(event["event"]);
    event.erase("ts");
    bodies.push_back(std::move(event));
  }
  const std::vector<std::string> expected{"daemon_start", "update_state", "claim",
                                          "complete",     "exec",         "daemon_stop"};
  ASSERT_EQ(events, expected);
  EXPECT_EQ(bodies[2], parse_json(R"({"event":"claim","task_id":"t0","worker_id":"w",)"
                                  R"("is_retry":false,"is_reclaim":false,"attempt":1})"));
  EXPECT_EQ(bodies[3], parse_json(R"({"event":"complete","task_id":"t0","worker_id":"w"})"));
}

TEST(LegacyImport, PythonOriginalStateIsImportedOnceWhenNoStateExists) {
  ScratchWorktree worktree;
  fs::create_directory(worktree.path() / ".claude");
  std::ofstream(worktree.path() / ".claude" / "dev-workflow-state.json") << R"({"tasks": {
    "task-1": {"id": "task-1", "description": "Old one", "status": "completed", "dependencies": [],
               "started_at": "2026-01-01T10:00:00", "completed_at": "2026-01-01T10:05:00.250000",
               "claimed_by": "agent-a", "timeout_seconds": 600},
    "task-2": {"id": "task-2", "description": "Next", "status": "pending", "dependencies": ["task-1"],
               "started_at": null, "completed_at": null, "claimed_by": null, "timeout_seconds": 900}},
    "version": 1})";
  {
    TestDaemon daemon(worktree.socket(), worktree.path());
    Json tasks = SocketClient(worktree.socket()).call({{"command", "get_state"}})["data"]["tasks"];
    EXPECT_EQ(tasks["task-1"]["status"], "completed");
    EXPECT_EQ(tasks["task-1"]["completed_at"], "2026-01-01T10:05:00.250000+00:00");
    EXPECT_EQ(tasks["task-2"]["timeout_seconds"], 900);
    Json claim =
        SocketClient(worktree.socket()).call({{"command", "task_claim"}, {"worker_id", "w"}});
    EXPECT_EQ(claim["data"]["task"]["id"], "task-2");  // its dependency was imported as completed
    SocketClient(worktree.socket())
        .call({{"command", "task_complete"}, {"task_id", "task-2"}, {"worker_id", "w"}});
  }
  TestDaemon restarted(worktree.socket(), worktree.path());  // must not import it again
  Json tasks = SocketClient(worktree.socket()).call({{"command", "get_state"}})["data"]["tasks"];
  EXPECT_EQ(tasks["task-2"]["status"], "completed");
}

// ----------------------------------------------------------------------------------------
// The CLI, without a daemon started by the test.

class CliTest : public ::testing::Test {
 protected:
  ScratchWorktree worktree;
  std::map<std::string, std::string> worker = {{"HARNESS_WORKER_ID", "cli-worker"}};

  RunResult harness(const std::vector<std::string>& args) {
    return run_harness(args, worktree.socket(), worktree.path(), worker);
  }
  ~CliTest() override { harness({"shutdown"}); }
};

TEST_F(CliTest, AutoSpawnsTheDaemonOnFirstUse) {
  ASSERT_FALSE(fs::exists(worktree.socket()));
  RunResult ping = harness({"ping"});
  EXPECT_EQ(ping.status, 0) << ping.err;
  EXPECT_EQ(ping.out, "ok\n");
  EXPECT_TRUE(fs::exists(worktree.socket()));
  EXPECT_TRUE(fs::exists(worktree.path() / ".git" / "harness" / "daemon.log"));
  EXPECT_EQ(harness({"shutdown"}).out, "Shutdown requested\n");
  EXPECT_EQ(harness({"shutdown"}).out, "Daemon not running\n");
}

TEST_F(CliTest, PlanImportClaimExecCompleteAndHooks) {
  const fs::path plan = worktree.path().parent_path() / "plan.json";
  std::ofstream(plan)
      << R"([{"id": "a", "command": ["echo", "A"]}, {"id": "b", "dependencies": ["a"]}])";

  EXPECT_EQ(harness({"get-state"}).out, "No active workflow\n");
  RunResult imported = harness({"plan", "import", "--file", plan.string()});
  ASSERT_EQ(imported.status, 0) << imported.err;
  EXPECT_EQ(harness({"check-state"}).out, "deny: Workflow in progress (0/2)\n");

  RunResult refused = harness({"plan", "import", "--file", plan.string()});
  EXPECT_EQ(refused.status, 1);
  EXPECT_NE(refused.err.find("--force"), std::string::npos) << refused.err;
  RunResult forced = harness({"plan", "import", "--force", "--file", plan.string()});
  EXPECT_EQ(forced.status, 0) << forced.err;
  EXPECT_EQ(forced.out, "Imported 2 tasks from " + plan.string() + "\n");

  RunResult claim = harness({"task", "claim"});
  ASSERT_EQ(claim.status, 0) << claim.err;
  Json envelope = parse_json(claim.out);
  EXPECT_EQ(envelope["data"]["task"]["id"], "a");
  EXPECT_EQ(envelope["data"]["task"]["claimed_by"], "cli-worker");

  RunResult exec = harness({"exec", "--", "echo", "A"});
  EXPECT_EQ(exec.status, 0);
  EXPECT_EQ(parse_json(exec.out)["data"]["stdout"], "A\n");

  RunResult wrong = run_harness({"task", "complete", "--id", "a"}, worktree.socket(),
                                worktree.path(), {{"HARNESS_WORKER_ID", "someone-else"}});
  EXPECT_EQ(wrong.status, 1);
  EXPECT_EQ(parse_json(wrong.out)["message"], "Task a is not claimed by someone-else");

  EXPECT_EQ(harness({"task", "complete", "--id", "a"}).status, 0);
  EXPECT_EQ(
      harness({"session-start"}).out,
      R"({"hookSpecificOutput": {"hookEventName": "SessionStart", "additionalContext": "Resuming workflow: task 1/2"}})"
      "\n");
}

TEST_F(CliTest, CheckCommitDeniesUntilTheHeldTasksWorkIsCommitted) {
  ASSERT_EQ(run_harness({"update-state"}, worktree.socket(), worktree.path(), worker).status,
            1);  // empty stdin
  const fs::path plan = worktree.path().parent_path() / "plan.json";
  std::ofstream(plan) << R"({"a": {}, "b": {}})";
  ASSERT_EQ(harness({"plan", "import", "--file", plan.string()}).status, 0);
  EXPECT_EQ(harness({"check-commit"}).out, "allow\n");  // nothing completed yet
  harness({"task", "claim"});
  ASSERT_EQ(harness({"task", "complete", "--id", "a"}).status, 0);
  EXPECT_EQ(harness({"check-commit"}).out, "allow\n");  // holds no task
  harness({"task", "claim"});                           // now holds b, HEAD unchanged
  RunResult denied = harness({"check-commit"});
  EXPECT_EQ(denied.status, 1);
  EXPECT_EQ(denied.out.rfind("deny: No commit since task a was completed", 0), 0u) << denied.out;
  std::ofstream(worktree.path() / "work.txt") << "b's work\n";
  EXPECT_EQ(harness({"git", "--", "add", "work.txt"}).status, 0);
  EXPECT_EQ(harness({"git", "--", "-c", "user.name=x", "commit", "-m", "b"}).status,
            1);  // refused option
  RunResult commit =
      run_harness({"git", "--", "commit", "-q", "-m", "b"}, worktree.socket(), worktree.path(),
                  {{"HARNESS_WORKER_ID", "cli-worker"},
                   {"GIT_AUTHOR_NAME", "t"},
                   {"GIT_AUTHOR_EMAIL", "t@l"},
                   {"GIT_COMMITTER_NAME", "t"},
                   {"GIT_COMMITTER_EMAIL", "t@l"}});
  EXPECT_EQ(commit.status, 0) << commit.err;
  EXPECT_EQ(harness({"check-commit"}).out, "allow\n");
}

TEST_F(CliTest, UsageErrorsExitTwoAndHelpExitsZero) {
  EXPECT_EQ(harness({}).status, 2);
  EXPECT_EQ(harness({"frobnicate"}).status, 2);
  EXPECT_EQ(harness({"task", "complete"}).status, 2);  // --id is required
  RunResult help = harness({"exec", "--help"});
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.out.find("--timeout"), std::string::npos);
}

}  // namespace
}  // namespace harness::testing
