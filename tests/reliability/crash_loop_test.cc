// Crash safety (issue 5, "Crash loop"): eight workers claim and complete tasks while the daemon
// is killed with SIGKILL at random moments and restarted, again and again. After every restart
// and at the end: every acknowledged completion is still there, no task was completed twice or
// held by two workers at once, the database passes PRAGMA integrity_check, and the trajectory
// parses line by line (a line torn by a crash is terminated by the next daemon).
//
// The run is random but repeatable: the seed is printed as HARNESS_CRASH_SEED=<n>; set that
// variable to replay a failure. HARNESS_CRASH_KILLS and HARNESS_CRASH_TASKS set the size
// (default 150 kills and 5,000 tasks, both times HARNESS_STRESS_SCALE).
#include <sys/wait.h>

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "reliability/reliability_util.h"
#include "store/state_dir.h"
#include "testing/run_program.h"
#include "testing/scratch_worktree.h"
#include "testing/socket_client.h"
#include "testing/test_daemon.h"

namespace harness::testing {
namespace {

using namespace reliability;   // NOLINT: the helpers of this directory
using namespace test_support;  // NOLINT: the test library (tests/testing)

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

std::string task_name(int i) { return "t" + std::to_string(i); }

// n tasks in plan order; every fourth one (from 40 on) waits for the task 40 places earlier,
// so completions also release dependents (the store's unmet-dependency counts) while the
// ready frontier stays wide enough for eight workers.
Json crash_plan_request(int n, int timeout_seconds) {
  Json tasks = Json::object();
  for (int i = 0; i < n; ++i) {
    Json task{{"id", task_name(i)},
              {"description", "crash-loop task " + std::to_string(i)},
              {"timeout_seconds", timeout_seconds}};
    if (i >= 40 && i % 4 == 0) task["dependencies"] = Json::array({task_name(i - 40)});
    append_member(tasks, task_name(i), std::move(task));
  }
  return Json{{"command", "update_state"}, {"updates", {{"tasks", tasks}}}};
}

// What the workers saw, shared with the checker. Guarded by `mu`.
struct Ledger {
  std::mutex mu;
  std::condition_variable changed;  // a restart, an acknowledged operation, the end
  std::uint64_t generation = 0;     // daemons started so far (a new one is listening)
  bool all_done = false;
  bool stop = false;
  std::uint64_t acked_ops = 0;                // acknowledged claims (with a task) + completes
  std::set<std::string> acked_completions;    // tasks whose completion reply was "ok"
  std::map<std::string, int> ok_completions;  // task -> "ok" completion replies
  std::map<std::string, std::string> holder;  // task -> the worker an ok claim gave it to
  std::vector<std::string> failures;
  // Figures for the report.
  std::uint64_t claims = 0, retries = 0, completes = 0, null_claims = 0, lost_replies = 0;

  void fail(const std::string& what) {
    std::lock_guard lock(mu);
    failures.push_back(what);
    stop = true;
    changed.notify_all();
  }
};

// Sends one request on `conn`; nullopt when the connection broke (the daemon died) before a
// whole reply line arrived: the request may or may not have been carried out.
std::optional<Json> try_call(SocketClient& conn, const Json& request) {
  std::string line;
  try {
    line = conn.request(request.dump());
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (line.empty()) return std::nullopt;
  return parse_json(line);
}

class CrashWorker {
 public:
  CrashWorker(Ledger& ledger, fs::path socket, std::string id)
      : ledger_(ledger), socket_(std::move(socket)), id_(std::move(id)) {}

  void run() {
    try {
      loop();
    } catch (const std::exception& e) {
      ledger_.fail(id_ + ": " + e.what());
    }
  }

 private:
  bool stopping() {
    std::lock_guard lock(ledger_.mu);
    return ledger_.stop || ledger_.all_done;
  }

  // Connects to the current daemon; when that fails (it was just killed), waits for the next.
  bool connect() {
    for (;;) {
      std::uint64_t gen;
      {
        std::lock_guard lock(ledger_.mu);
        if (ledger_.stop || ledger_.all_done) return false;
        gen = ledger_.generation;
      }
      try {
        // A deadline of its own: a hung daemon fails the test, not hangs it.
        conn_.emplace(socket_, std::chrono::seconds(20));
        conn_generation_ = gen;
        return true;
      } catch (const std::exception&) {
        conn_.reset();
        if (!await_restart(gen)) return false;
      }
    }
  }

  // Waits until a daemon newer than generation `gen` is listening.
  bool await_restart(std::uint64_t gen) {
    std::unique_lock lock(ledger_.mu);
    const bool woke = ledger_.changed.wait_for(lock, std::chrono::seconds(30), [&] {
      return ledger_.stop || ledger_.all_done || ledger_.generation > gen;
    });
    if (!woke) {
      lock.unlock();
      ledger_.fail(id_ + ": no daemon came back within 30 s");
      return false;
    }
    return !ledger_.stop && !ledger_.all_done;
  }

  void lost_reply() {
    {
      std::lock_guard lock(ledger_.mu);
      ++ledger_.lost_replies;
    }
    conn_.reset();
    await_restart(conn_generation_);
  }

  void loop() {
    while (!stopping()) {
      if (!conn_ && !connect()) return;
      auto reply = try_call(*conn_, {{"command", "task_claim"}, {"worker_id", id_}});
      if (!reply) {
        lost_reply();
        continue;
      }
      if ((*reply)["status"] != "ok") return ledger_.fail(id_ + ": claim failed: " + reply->dump());
      Json& data = (*reply)["data"];
      if (data["task"].is_null()) {
        if (!idle()) return;
        continue;
      }
      const std::string task = data["task"]["id"];
      if (!on_claimed(task, data)) return;
      auto done =
          try_call(*conn_, {{"command", "task_complete"}, {"task_id", task}, {"worker_id", id_}});
      if (!done) {
        lost_reply();  // committed or not: the next claim either returns it again or moves on
        continue;
      }
      if ((*done)["status"] != "ok")
        return ledger_.fail(id_ + ": completing " + task + " failed: " + done->dump());
      on_completed(task);
    }
  }

  bool on_claimed(const std::string& task, Json& data) {
    std::lock_guard lock(ledger_.mu);
    ++ledger_.claims;
    ++ledger_.acked_ops;
    if (data["is_retry"] == true) ++ledger_.retries;
    ledger_.changed.notify_all();
    Json& t = data["task"];
    if (t["status"] != "running" || t["claimed_by"] != id_) {
      ledger_.failures.push_back(id_ + ": claim returned a task not running under it: " + t.dump());
      ledger_.stop = true;
      return false;
    }
    if (ledger_.acked_completions.count(task)) {
      ledger_.failures.push_back(id_ + ": claim handed out " + task +
                                 ", whose completion was already acknowledged");
      ledger_.stop = true;
      return false;
    }
    // Leases are long (600 s), so no claim may take a task another worker holds.
    auto [it, fresh] = ledger_.holder.emplace(task, id_);
    if (!fresh && it->second != id_) {
      ledger_.failures.push_back(task + " is running under two owners: " + it->second + " and " +
                                 id_);
      ledger_.stop = true;
      return false;
    }
    return true;
  }

  void on_completed(const std::string& task) {
    std::lock_guard lock(ledger_.mu);
    ++ledger_.completes;
    ++ledger_.acked_ops;
    if (ledger_.ok_completions[task]++ > 0) {
      ledger_.failures.push_back(task + " was completed twice (a second ok reply, to " + id_ + ")");
      ledger_.stop = true;
    }
    ledger_.acked_completions.insert(task);
    ledger_.holder.erase(task);
    ledger_.changed.notify_all();
  }

  // No task is ready: finished if every task is completed, else wait for others' progress.
  bool idle() {
    auto status = try_call(*conn_, {{"command", "status"}});
    if (!status) {
      lost_reply();
      return true;
    }
    Json& c = (*status)["data"];
    std::unique_lock lock(ledger_.mu);
    ++ledger_.null_claims;
    if (c.is_object() && c["completed"] == c["total"]) {
      ledger_.all_done = true;
      ledger_.changed.notify_all();
      return false;
    }
    const std::uint64_t seen = ledger_.acked_ops, gen = ledger_.generation;
    // Another worker's completion (or a restart) may make a task ready; a completion whose
    // reply was lost does not notify, hence the timeout.
    ledger_.changed.wait_for(lock, std::chrono::milliseconds(20), [&] {
      return ledger_.stop || ledger_.acked_ops != seen || ledger_.generation != gen;
    });
    return !ledger_.stop;
  }

  Ledger& ledger_;
  const fs::path socket_;
  const std::string id_;
  std::optional<SocketClient> conn_;
  std::uint64_t conn_generation_ = 0;
};

// Checks the database through a connection of its own against what the workers were told.
class StateChecker {
 public:
  StateChecker(Ledger& ledger, fs::path db) : ledger_(ledger), db_file_(std::move(db)) {}

  // Returns the problems found (empty: all invariants hold).
  std::vector<std::string> check(const std::string& when) {
    std::set<std::string> acked;
    {
      std::lock_guard lock(ledger_.mu);  // snapshot before reading: completions only grow
      acked = ledger_.acked_completions;
    }
    std::vector<std::string> problems;
    auto problem = [&](const std::string& p) { problems.push_back(when + ": " + p); };
    StateDb db(db_file_);
    const std::string integrity = db.integrity_check();
    if (integrity != "ok") problem("integrity_check: " + integrity);
    std::map<std::string, std::pair<std::string, std::string>> rows;  // id -> status, completed_at
    for (auto& r : db.query("SELECT id, status, completed_at FROM tasks"))
      rows[r[0]] = {r[1], r[2]};
    for (const std::string& task : acked) {
      auto it = rows.find(task);
      if (it == rows.end() || it->second.first != "completed")
        problem("acknowledged completion of " + task + " is lost (status " +
                (it == rows.end() ? "missing" : it->second.first) + ")");
    }
    for (const auto& [task, row] : rows) {
      if (row.first != "completed") continue;
      auto [it, fresh] = completed_at_.emplace(task, row.second);
      if (!fresh && it->second != row.second)
        problem(task + " was completed again: completed_at changed from " + it->second + " to " +
                row.second);
    }
    for (auto& r : db.query("SELECT claimed_by, count(*) FROM tasks WHERE status = 'running' "
                            "GROUP BY claimed_by HAVING count(*) > 1 OR claimed_by IS NULL"))
      problem("worker " + r[0] + " holds " + r[1] + " running tasks");
    // The readiness index must agree with the tasks it summarises (schema of sqlite_store.cc).
    for (auto& r : db.query(
             "SELECT t.id, t.unmet, coalesce(u.n, 0) FROM tasks t LEFT JOIN (SELECT d.task AS "
             "seq, count(*) AS n FROM dependents d JOIN tasks p ON p.seq = d.dep WHERE p.status "
             "!= 'completed' GROUP BY d.task) u ON u.seq = t.seq WHERE t.status = 'pending' AND "
             "t.unmet != coalesce(u.n, 0)"))
      problem("task " + r[0] + " has unmet = " + r[1] + " but " + r[2] +
              " unfinished dependencies");
    ++checks_;
    return problems;
  }

  int checks() const { return checks_; }

 private:
  Ledger& ledger_;
  const fs::path db_file_;
  std::map<std::string, std::string> completed_at_;  // as first seen
  int checks_ = 0;
};

void expect_clean_trajectory(const fs::path& file, const std::string& when) {
  const TrajectoryScan scan = scan_trajectory(file);
  EXPECT_TRUE(scan.problems.empty())
      << when << ": unparseable trajectory lines: " << ::testing::PrintToString(scan.problems);
  for (const auto& [task, n] : scan.completes)
    EXPECT_EQ(n, 1) << when << ": the trajectory records " << n << " completions of " << task;
}

TEST(CrashLoopTest, EightWorkersSurviveRepeatedKill9OfTheDaemon) {
  const std::uint64_t seed = test_seed("HARNESS_CRASH_SEED");
  const int kills_wanted = env_int("HARNESS_CRASH_KILLS", stress_size(150, 3));
  const int tasks = env_int("HARNESS_CRASH_TASKS", stress_size(5000, 100));
  constexpr int kWorkers = 8;
  std::mt19937_64 rng(seed);
  const auto started = SteadyClock::now();

  ScratchWorktree worktree;
  const fs::path trajectory = trajectory_path(worktree.path());
  auto daemon = std::make_unique<TestDaemon>(worktree.socket(), worktree.path());
  ASSERT_EQ(SocketClient(worktree.socket()).call(crash_plan_request(tasks, 600))["status"], "ok");

  Ledger ledger;
  StateChecker checker(ledger, state_db_path(worktree.path()));
  std::vector<std::unique_ptr<CrashWorker>> workers;
  std::vector<std::thread> threads;
  for (int i = 0; i < kWorkers; ++i) {
    workers.push_back(
        std::make_unique<CrashWorker>(ledger, worktree.socket(), "crash-w" + std::to_string(i)));
    threads.emplace_back([w = workers.back().get()] { w->run(); });
  }

  // Spread the kills over about two thirds of the work (a claim and a complete per task), so
  // that all of them land while the workers are busy.
  const double mean_gap = 2.0 * tasks / (kills_wanted * 1.5);
  std::uniform_int_distribution<int> gap(1, std::max(2, static_cast<int>(2 * mean_gap)));
  std::uniform_int_distribution<int> jitter_us(0, 3000);
  std::bernoulli_distribution tear(0.25);
  int kills = 0, torn_planted = 0;
  std::vector<std::string> problems;
  SteadyClock::duration restart_time{}, check_time{};
  std::uint64_t ops_at_start = 0;  // acknowledged operations when the current daemon started
  try {
    for (; kills < kills_wanted && problems.empty(); ++kills) {
      {
        std::unique_lock lock(ledger.mu);
        const std::uint64_t target = ops_at_start + gap(rng);
        const bool progressed = ledger.changed.wait_for(lock, std::chrono::seconds(30), [&] {
          return ledger.stop || ledger.all_done || ledger.acked_ops >= target;
        });
        if (!progressed)
          problems.push_back("no progress for 30 s after kill " + std::to_string(kills));
        if (ledger.stop || ledger.all_done || !progressed) break;
      }
      // A random moment between requests in flight, not a synchronisation.
      std::this_thread::sleep_for(std::chrono::microseconds(jitter_us(rng)));
      daemon->kill_hard();
      const std::string when = "after kill " + std::to_string(kills + 1);
      // The daemon is dead: the trajectory may end in a torn line, never have one in the middle.
      expect_clean_trajectory(trajectory, when);
      if (tear(rng)) {  // simulate a write torn by the crash: the next daemon must repair it
        std::ofstream(trajectory, std::ios::app) << R"({"ts":"2026-01-01T00:00:00.0000)";
        ++torn_planted;
      }
      const auto restart_begins = SteadyClock::now();
      daemon = std::make_unique<TestDaemon>(worktree.socket(), worktree.path());
      const auto check_begins = SteadyClock::now();
      restart_time += check_begins - restart_begins;
      // Checked before the workers are told the daemon is back, so that the check sees the state
      // the restarted daemon recovered rather than racing the workers' next operations.
      auto found = checker.check(when + " and restart");
      problems.insert(problems.end(), found.begin(), found.end());
      check_time += SteadyClock::now() - check_begins;
      {
        std::lock_guard lock(ledger.mu);
        ++ledger.generation;
        ops_at_start = ledger.acked_ops;
        ledger.changed.notify_all();
      }
    }
  } catch (const std::exception& e) {
    problems.push_back(std::string("the kill loop failed: ") + e.what());
  }
  {
    std::unique_lock lock(ledger.mu);
    if (!problems.empty()) ledger.stop = true;
    ledger.changed.notify_all();
    ledger.changed.wait_for(lock, std::chrono::seconds(60),
                            [&] { return ledger.stop || ledger.all_done; });
    ledger.stop = true;
    ledger.changed.notify_all();
  }
  for (auto& t : threads) t.join();

  auto final_problems = checker.check("at the end");
  problems.insert(problems.end(), final_problems.begin(), final_problems.end());
  EXPECT_TRUE(problems.empty()) << ::testing::PrintToString(problems);
  EXPECT_TRUE(ledger.failures.empty()) << ::testing::PrintToString(ledger.failures);
  EXPECT_TRUE(ledger.all_done) << "the workers did not finish the plan";
  EXPECT_GE(kills, kills_wanted / 3) << "too few kills landed while the workers were busy";

  StateDb db(state_db_path(worktree.path()));
  EXPECT_EQ(db.query("SELECT count(*) FROM tasks WHERE status = 'completed'")[0][0],
            std::to_string(tasks));
  EXPECT_EQ(ledger.acked_completions.size(), ledger.completes);
  for (const auto& [task, n] : ledger.ok_completions) EXPECT_EQ(n, 1) << task;

  // A clean stop: the trajectory ends on a whole line and every torn line was repaired.
  const int status = daemon->terminate_and_wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  const TrajectoryScan scan = scan_trajectory(trajectory);
  EXPECT_FALSE(scan.torn_tail);
  EXPECT_TRUE(scan.problems.empty()) << ::testing::PrintToString(scan.problems);
  EXPECT_GE(scan.repaired, static_cast<std::size_t>(torn_planted));
  // A daemon killed within microseconds of starting may not have written its daemon_start.
  EXPECT_LE(scan.daemon_starts, static_cast<std::size_t>(kills + 1));

  const double seconds = std::chrono::duration<double>(SteadyClock::now() - started).count();
  std::cout << "[ figures  ] seed=" << seed << " kills=" << kills << " tasks=" << tasks
            << " acked_claims=" << ledger.claims << " (retries " << ledger.retries
            << ") acked_completes=" << ledger.completes << " null_claims=" << ledger.null_claims
            << " lost_replies=" << ledger.lost_replies << " state_checks=" << checker.checks()
            << " torn_lines_planted=" << torn_planted << " torn_lines_repaired=" << scan.repaired
            << " trajectory_lines=" << scan.lines << " seconds=" << seconds << " (restarts "
            << std::chrono::duration<double>(restart_time).count() << ", checks "
            << std::chrono::duration<double>(check_time).count() << ")" << std::endl;
}

// A worker that dies holding a task (its process exits without completing) leaves the task
// running until its lease runs out; then another worker reclaims it (is_reclaim) and finishes
// it, and the dead worker's late completion is refused.
TEST(CrashLoopTest, TasksOfWorkersThatDieMidTaskAreReclaimedAfterTheLease) {
  constexpr int kTasks = 24, kDead = 6, kSurvivors = 4, kLeaseSeconds = 1;
  ScratchWorktree worktree;
  TestDaemon daemon(worktree.socket(), worktree.path());
  ASSERT_EQ(
      SocketClient(worktree.socket()).call(crash_plan_request(kTasks, kLeaseSeconds))["status"],
      "ok");

  // Each dying worker is a real `harness task claim` process that exits holding its task.
  std::map<std::string, std::string> dead_task;  // task -> the worker that died holding it
  std::map<std::string, SteadyClock::time_point> dead_at;
  for (int i = 0; i < kDead; ++i) {
    const std::string id = "doomed-" + std::to_string(i);
    const auto before_claim = SteadyClock::now();  // no later than the lease's start
    RunResult r = run_harness({"task", "claim"}, worktree.socket(), worktree.path(),
                              {{"HARNESS_WORKER_ID", id}});
    ASSERT_EQ(r.status, 0) << r.out << r.err;
    Json reply = parse_json(r.out);
    const std::string task = reply["data"]["task"]["id"];
    dead_task[task] = id;
    dead_at[task] = before_claim;
  }

  struct Reclaim {
    std::string worker;
    SteadyClock::time_point at;
  };
  std::mutex mu;
  std::map<std::string, Reclaim> reclaims;
  std::map<std::string, std::string> completed_by;
  std::vector<std::string> failures;
  std::vector<std::thread> survivors;
  for (int i = 0; i < kSurvivors; ++i) {
    survivors.emplace_back([&, id = "survivor-" + std::to_string(i)] {
      try {
        SocketClient conn(worktree.socket());
        const auto deadline = SteadyClock::now() + std::chrono::seconds(20);
        while (SteadyClock::now() < deadline) {
          Json claim = conn.call({{"command", "task_claim"}, {"worker_id", id}});
          Json& data = claim["data"];
          if (data["task"].is_null()) {
            if (conn.call({{"command", "status"}})["data"]["completed"] == kTasks) return;
            // Waiting for a lease to run out: time is the condition.
            std::this_thread::sleep_for(std::chrono::milliseconds(25));
            continue;
          }
          const std::string task = data["task"]["id"];
          if (data["is_reclaim"] == true) {
            const auto at = SteadyClock::now();
            // The dead worker's completion, arriving now that its lease was taken over.
            auto dead = dead_task.find(task);
            const std::string late_owner = dead == dead_task.end() ? "?" : dead->second;
            Json late = conn.call(
                {{"command", "task_complete"}, {"task_id", task}, {"worker_id", late_owner}});
            std::lock_guard lock(mu);
            reclaims[task] = Reclaim{id, at};
            if (late.value("message", "") != "Task " + task + " is not claimed by " + late_owner)
              failures.push_back("late completion of " + task + " by " + late_owner + ": " +
                                 late.dump());
          }
          Json done =
              conn.call({{"command", "task_complete"}, {"task_id", task}, {"worker_id", id}});
          std::lock_guard lock(mu);
          if (done["status"] != "ok") failures.push_back(id + " " + task + ": " + done.dump());
          completed_by[task] = id;
        }
        std::lock_guard lock(mu);
        failures.push_back(id + ": the plan was not finished within 20 s");
      } catch (const std::exception& e) {
        std::lock_guard lock(mu);
        failures.push_back(id + ": " + e.what());
      }
    });
  }
  for (auto& t : survivors) t.join();
  ASSERT_TRUE(failures.empty()) << ::testing::PrintToString(failures);

  // Exactly the dead workers' tasks were reclaimed, each only after its lease ran out, and
  // each was finished by a survivor.
  ASSERT_EQ(reclaims.size(), dead_task.size());
  for (const auto& [task, dead] : dead_task) {
    ASSERT_TRUE(reclaims.count(task)) << task << " of " << dead << " was never reclaimed";
    EXPECT_GE(reclaims[task].at - dead_at[task], std::chrono::seconds(kLeaseSeconds))
        << task << " was reclaimed before its lease ran out";
    EXPECT_EQ(completed_by[task], reclaims[task].worker);
  }
  EXPECT_EQ(completed_by.size(), static_cast<std::size_t>(kTasks));

  std::chrono::milliseconds slowest{0}, fastest{std::chrono::hours(1)};
  for (const auto& [task, r] : reclaims) {
    const auto after = std::chrono::duration_cast<std::chrono::milliseconds>(r.at - dead_at[task]);
    slowest = std::max(slowest, after);
    fastest = std::min(fastest, after);
  }
  std::cout << "[ figures  ] dead_workers=" << kDead << " reclaimed=" << reclaims.size()
            << " lease_s=" << kLeaseSeconds << " reclaimed_after_ms=" << fastest.count() << ".."
            << slowest.count() << " tasks_completed=" << completed_by.size() << std::endl;

  // The dead workers come back too late: their completions are refused.
  for (const auto& [task, dead] : dead_task) {
    RunResult late = run_harness({"task", "complete", "--id", task}, worktree.socket(),
                                 worktree.path(), {{"HARNESS_WORKER_ID", dead}});
    EXPECT_EQ(late.status, 1) << late.out;
    Json reply = parse_json(late.out);
    EXPECT_EQ(reply["status"], "error");
    const std::string message = reply.value("message", "");
    // The CLI sends the lease token it kept for the dead worker's claim: the task passed to
    // another holder since, so the token is no longer current.
    EXPECT_NE(message.find("Task " + task + ": lease superseded"), std::string::npos) << message;
  }

  // A reclaimed task that is still running: the dead worker's late completion is refused
  // (its lease was superseded; without a token, it "is not claimed by" it), and the new
  // owner's is accepted.
  ASSERT_EQ(SocketClient(worktree.socket()).call(crash_plan_request(1, kLeaseSeconds))["status"],
            "ok");
  const auto claimed_at = SteadyClock::now();
  RunResult claim = run_harness({"task", "claim"}, worktree.socket(), worktree.path(),
                                {{"HARNESS_WORKER_ID", "doomed-late"}});
  ASSERT_EQ(claim.status, 0) << claim.out;
  SocketClient conn(worktree.socket());
  Json reclaim;
  while (SteadyClock::now() - claimed_at < std::chrono::seconds(10)) {
    reclaim = conn.call({{"command", "task_claim"}, {"worker_id", "rescuer"}});
    if (!reclaim["data"]["task"].is_null()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));  // the lease is time
  }
  ASSERT_EQ(reclaim["data"]["task"]["id"], "t0") << reclaim.dump();
  EXPECT_EQ(reclaim["data"]["is_reclaim"], true);
  EXPECT_GE(SteadyClock::now() - claimed_at, std::chrono::seconds(kLeaseSeconds));
  RunResult late = run_harness({"task", "complete", "--id", "t0"}, worktree.socket(),
                               worktree.path(), {{"HARNESS_WORKER_ID", "doomed-late"}});
  EXPECT_EQ(late.status, 1);
  EXPECT_NE(late.out.find("Task t0: lease superseded"), std::string::npos) << late.out;
  EXPECT_NE(
      conn.call({{"command", "task_complete"}, {"task_id", "t0"}, {"worker_id", "doomed-late"}})
          .dump()
          .find("Task t0 is not claimed by doomed-late"),
      std::string::npos);
  EXPECT_EQ(
      conn.call(
          {{"command", "task_complete"}, {"task_id", "t0"}, {"worker_id", "rescuer"}})["status"],
      "ok");
}

// The repair in isolation: a line torn by a crash is terminated by the next daemon, so the
// next event starts on a fresh line and only the torn event is lost.
TEST(CrashLoopTest, TornTrajectoryLineIsRepairedByTheNextDaemon) {
  ScratchWorktree worktree;
  const fs::path trajectory = trajectory_path(worktree.path());
  auto daemon = std::make_unique<TestDaemon>(worktree.socket(), worktree.path());
  ASSERT_EQ(SocketClient(worktree.socket()).call(independent_tasks_request(3))["status"], "ok");
  ASSERT_EQ(SocketClient(worktree.socket())
                .call({{"command", "task_claim"}, {"worker_id", "w"}})["status"],
            "ok");
  daemon->kill_hard();
  const std::string torn = R"({"ts":"2026-01-01T00:00:00.000000+00:00","event":"comp)";
  std::ofstream(trajectory, std::ios::app) << torn;
  EXPECT_TRUE(scan_trajectory(trajectory).torn_tail);

  daemon = std::make_unique<TestDaemon>(worktree.socket(), worktree.path());
  ASSERT_EQ(
      SocketClient(worktree.socket())
          .call({{"command", "task_complete"}, {"task_id", "t0"}, {"worker_id", "w"}})["status"],
      "ok");
  daemon->terminate_and_wait();

  const std::string text = read_file(trajectory);
  EXPECT_NE(text.find(torn + "\n{\"ts\":"), std::string::npos) << text;
  const TrajectoryScan scan = scan_trajectory(trajectory);
  EXPECT_FALSE(scan.torn_tail);
  EXPECT_EQ(scan.repaired, 1u);
  EXPECT_TRUE(scan.problems.empty()) << ::testing::PrintToString(scan.problems);
  EXPECT_EQ(scan.completes.count("t0") ? scan.completes.at("t0") : 0, 1);
}

}  // namespace
}  // namespace harness::testing
