// Storage faults (issue 5): a read-only state directory, a full disk, and a state database
// that was deleted, truncated or corrupted while the daemon was stopped. The daemon must report
// a clear error that says where the problem is and refuse the write; it must never silently
// start with an empty workflow over a damaged one, and it keeps the damaged file.
//
// Root ignores permission bits, so "read-only" is made with a read-only bind mount (at start)
// and with the immutable attribute (chattr +i, while running); "disk full" is a small tmpfs
// mounted as the worktree. Tests that cannot mount (no CAP_SYS_ADMIN) are skipped.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <sstream>
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

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

Json claim(SocketClient& c, const std::string& worker) {
  return c.call({{"command", "task_claim"}, {"worker_id", worker}});
}

Json complete(SocketClient& c, const std::string& task, const std::string& worker) {
  return c.call({{"command", "task_complete"}, {"task_id", task}, {"worker_id", worker}});
}

// A plan of `n` tasks with descriptions long enough to fill several database pages.
Json bulky_plan_request(int n, std::size_t description_bytes = 100) {
  Json tasks = Json::object();
  for (int i = 0; i < n; ++i) {
    const std::string id = "t" + std::to_string(i);
    append_member(tasks, id,
                  Json{{"id", id}, {"description", std::string(description_bytes, 'd')}});
  }
  return Json{{"command", "update_state"}, {"updates", {{"tasks", tasks}}}};
}

// Some history in a worktree: a plan of `n` tasks, t0 completed by w1, t1 held by w1; then the
// daemon is stopped cleanly (kill: with SIGKILL, leaving the WAL behind).
void make_history(const ScratchWorktree& wt, int n, bool kill = false) {
  TestDaemon daemon(wt.socket(), wt.path());
  SocketClient c(wt.socket());
  ASSERT_EQ(c.call(bulky_plan_request(n))["status"], "ok");
  ASSERT_EQ(claim(c, "w1")["data"]["task"]["id"], "t0");
  ASSERT_EQ(complete(c, "t0", "w1")["status"], "ok");
  ASSERT_EQ(claim(c, "w1")["data"]["task"]["id"], "t1");
  if (kill) {
    daemon.kill_hard();
  } else {
    const int status = daemon.terminate_and_wait();
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
}

// The history make_history left, as the daemon serves it.
void expect_history(SocketClient& c, int n) {
  Json state = c.call({{"command", "get_state"}});
  ASSERT_EQ(state["status"], "ok") << state.dump();
  ASSERT_TRUE(state["data"].is_object()) << "the workflow is gone: " << state.dump();
  Json& tasks = state["data"]["tasks"];
  EXPECT_EQ(tasks.size(), static_cast<std::size_t>(n));
  EXPECT_EQ(tasks["t0"]["status"], "completed");
  EXPECT_EQ(tasks["t1"]["status"], "running");
  EXPECT_EQ(tasks["t1"]["claimed_by"], "w1");
}

// What a daemon that found a broken state database said or did: it either refused to start, or
// it is serving and its state requests fail; it must not serve an empty workflow.
struct StartAttempt {
  TestDaemon::Outcome outcome;
  int exit_status = -1;
  std::string stderr_text;
  Json get_state;  // when it is serving
};

StartAttempt try_start(const ScratchWorktree& wt, std::unique_ptr<TestDaemon>* keep = nullptr) {
  const fs::path err = wt.path().parent_path() / "attempt.err";
  fs::remove(err);
  auto daemon = std::make_unique<TestDaemon>(TestDaemon::launch(wt.socket(), wt.path(), err));
  StartAttempt attempt;
  attempt.outcome = daemon->await();
  if (attempt.outcome == TestDaemon::Outcome::kListening) {
    attempt.get_state = parse_json(one_shot(wt.socket(), R"({"command":"get_state"})"));
  } else {
    attempt.exit_status = daemon->exit_status();
  }
  attempt.stderr_text = read_file(err);
  if (keep) *keep = std::move(daemon);
  return attempt;
}

bool exited_with_error(const StartAttempt& a) {
  return a.outcome == TestDaemon::Outcome::kExited &&
         !(WIFEXITED(a.exit_status) && WEXITSTATUS(a.exit_status) == 0);
}

// The words a recovery hint uses ("To recover, restore it from a backup, ... or move it aside").
bool says_how_to_recover(const std::string& message) {
  return contains(message, "recover") || contains(message, "restore") ||
         contains(message, "move it aside");
}

// The daemon did not serve an empty workflow over the lost or damaged one, and said where the
// problem is: it refused to start naming the database, or it serves errors naming it.
void expect_no_silent_empty_start(const StartAttempt& a, const fs::path& db) {
  if (a.outcome == TestDaemon::Outcome::kListening) {
    EXPECT_NE(a.get_state["status"], "ok")
        << "the daemon serves a workflow over a lost or damaged state database: "
        << a.get_state.dump() << "\nits stderr: " << a.stderr_text;
    EXPECT_TRUE(contains(a.get_state.value("message", ""), db.string())) << a.get_state.dump();
  } else {
    EXPECT_TRUE(exited_with_error(a))
        << "outcome " << static_cast<int>(a.outcome) << " status " << a.exit_status;
    EXPECT_TRUE(contains(a.stderr_text, db.string())) << a.stderr_text;
  }
}

void overwrite(const fs::path& file, off_t offset, const std::string& bytes) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(offset);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(f.flush()) << "cannot write " << file;
}

// The pages of table or index `name`, from SQLite's dbstat table when it is compiled in.
std::vector<long> pages_of(const fs::path& db, const std::string& name) {
  std::vector<long> pages;
  try {
    StateDb state(db);
    for (auto& row : state.query("SELECT pageno FROM dbstat WHERE name = '" + name + "'"))
      pages.push_back(std::stol(row[0]));
  } catch (const std::exception&) {
  }
  return pages;
}

long root_page_of(const fs::path& db, const std::string& name) {
  StateDb state(db);
  return std::stol(
      state.query("SELECT rootpage FROM sqlite_master WHERE name = '" + name + "'").at(0).at(0));
}

constexpr off_t kPageSize = 4096;  // SQLite's default, which the store keeps

// ---- read-only -------------------------------------------------------------------------------

TEST(StorageFaultsTest, ReadOnlyStateDirectoryAtStartIsAClearErrorAndNothingChanges) {
  ScratchWorktree wt;
  ASSERT_NO_FATAL_FAILURE(make_history(wt, 3));
  const fs::path db = state_db_path(wt.path());
  const std::string before = read_file(db);
  std::string why;
  auto read_only = ScopedMount::read_only_bind(state_dir(wt.path()), &why);
  if (!read_only) GTEST_SKIP() << why;

  std::unique_ptr<TestDaemon> daemon;
  StartAttempt a = try_start(wt, &daemon);
  if (a.outcome == TestDaemon::Outcome::kListening) {
    // Serving what it can read is acceptable, as long as every write is refused clearly.
    SocketClient c(wt.socket());
    expect_history(c, 3);
    Json r = complete(c, "t1", "w1");
    EXPECT_EQ(r["status"], "error");
    EXPECT_TRUE(contains(r.value("message", ""), "read-only")) << r.dump();
  } else {
    EXPECT_TRUE(exited_with_error(a)) << a.exit_status;
    EXPECT_TRUE(contains(a.stderr_text, db.string())) << a.stderr_text;
    EXPECT_TRUE(contains(a.stderr_text, "Read-only file system")) << a.stderr_text;
  }
  daemon.reset();

  // A client that auto-spawns the daemon tells its user why nothing starts.
  RunResult ping = run_harness({"ping"}, wt.socket(), wt.path(), {{"HARNESS_TIMEOUT", "20"}});
  EXPECT_EQ(ping.status, 1);
  EXPECT_TRUE(contains(ping.err, "Read-only file system")) << ping.err;

  read_only->release();
  EXPECT_EQ(read_file(db), before) << "the state database changed while it was read-only";
  TestDaemon healthy(wt.socket(), wt.path());
  SocketClient c(wt.socket());
  expect_history(c, 3);
  EXPECT_EQ(complete(c, "t1", "w1")["status"], "ok");
}

TEST(StorageFaultsTest, ReadOnlyWorktreeWithoutStateIsAClearError) {
  ScratchWorktree wt;
  std::string why;
  auto read_only = ScopedMount::read_only_bind(wt.path(), &why);
  if (!read_only) GTEST_SKIP() << why;
  StartAttempt a = try_start(wt);
  EXPECT_TRUE(exited_with_error(a));
  EXPECT_TRUE(contains(a.stderr_text, state_dir(wt.path()).string())) << a.stderr_text;
  EXPECT_TRUE(contains(a.stderr_text, "Read-only file system")) << a.stderr_text;
}

// The files become unwritable under a running daemon (chattr +i stops even root's writes to
// descriptors already open): writes get an error naming the database, reads, pings and
// commands go on, and once the files are writable again so are the writes.
TEST(StorageFaultsTest, StateFilesTurningImmutableWhileRunningRefuseWritesThenRecover) {
  ScratchWorktree wt;
  TestDaemon daemon(wt.socket(), wt.path());
  SocketClient c(wt.socket());
  ASSERT_EQ(c.call(bulky_plan_request(20))["status"], "ok");
  ASSERT_EQ(claim(c, "w1")["data"]["task"]["id"], "t0");
  const fs::path db = state_db_path(wt.path());
  const std::vector<std::string> files{db.string(), db.string() + "-wal",
                                       state_dir(wt.path()).string()};
  std::vector<std::string> lock{"chattr", "+i"}, unlock{"chattr", "-i"};
  lock.insert(lock.end(), files.begin(), files.end());
  unlock.insert(unlock.end(), files.begin(), files.end());
  const RunResult locked = run_program(lock);
  if (locked.status != 0) GTEST_SKIP() << "chattr +i is not available here: " << locked.err;
  struct Unlock {
    std::vector<std::string> args;
    ~Unlock() { run_program(args); }
  } unlock_at_exit{unlock};

  Json refused = complete(c, "t0", "w1");
  EXPECT_EQ(refused["status"], "error");
  EXPECT_TRUE(contains(refused.value("message", ""), db.string())) << refused.dump();
  EXPECT_EQ(claim(c, "w2")["status"], "error");
  EXPECT_TRUE(ping_ok(wt.socket()));
  Json state = c.call({{"command", "get_state"}});
  ASSERT_EQ(state["status"], "ok");
  EXPECT_EQ(state["data"]["tasks"]["t0"]["status"], "running");
  EXPECT_EQ(state["data"]["tasks"]["t1"]["status"], "pending") << "a refused claim was applied";
  Json echo = c.call({{"command", "exec"}, {"args", {"echo", "still serving"}}});
  EXPECT_EQ(echo["data"]["stdout"], "still serving\n");

  ASSERT_EQ(run_program(unlock).status, 0);
  EXPECT_EQ(complete(c, "t0", "w1")["status"], "ok");
  EXPECT_EQ(claim(c, "w2")["data"]["task"]["id"], "t1");
  EXPECT_EQ(StateDb(db).integrity_check(), "ok");
}

// ---- disk full -------------------------------------------------------------------------------

TEST(StorageFaultsTest, FullDiskRefusesWritesKeepsServingAndRecoversWhenSpaceReturns) {
  ScratchWorktree wt;
  const fs::path small = wt.path().parent_path() / "small";
  fs::create_directory(small);
  std::string why;
  auto mount = ScopedMount::tmpfs(small, 4 << 20, &why);  // destroyed before `wt`
  if (!mount) GTEST_SKIP() << why;
  const fs::path err = wt.path().parent_path() / "small.err";
  const fs::path db = state_db_path(small);
  auto daemon = std::make_unique<TestDaemon>(TestDaemon::launch(wt.socket(), small, err));
  ASSERT_EQ(daemon->await(), TestDaemon::Outcome::kListening) << read_file(err);
  std::size_t filled_bytes = 0;
  {
    SocketClient c(wt.socket());
    ASSERT_EQ(c.call(bulky_plan_request(200))["status"], "ok");
    ASSERT_EQ(claim(c, "w1")["data"]["task"]["id"], "t0");
    ASSERT_EQ(complete(c, "t0", "w1")["status"], "ok");
    ASSERT_EQ(claim(c, "w1")["data"]["task"]["id"], "t1");

    filled_bytes = fill_file_system(small);
    ASSERT_GT(filled_bytes, 0u);

    // Every write is refused with an error that says what and where.
    for (const Json& r :
         {complete(c, "t1", "w1"), claim(c, "w2"), c.call(bulky_plan_request(3000, 200))}) {
      EXPECT_EQ(r["status"], "error") << r.dump().substr(0, 300);
      EXPECT_TRUE(contains(r.value("message", ""), "disk is full")) << r.dump().substr(0, 300);
      EXPECT_TRUE(contains(r.value("message", ""), db.string())) << r.dump().substr(0, 300);
    }
    // Reads, pings and commands go on; nothing half-written shows.
    EXPECT_TRUE(ping_ok(wt.socket()));
    expect_history(c, 200);
    // Commands still run; their trajectory events cannot be written and are dropped.
    for (int i = 0; i < 8; ++i) {
      Json r = c.call({{"command", "exec"}, {"args", {"head", "-c", "3000", "/dev/zero"}}});
      EXPECT_EQ(r["data"]["returncode"], 0) << r.dump().substr(0, 300);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!contains(read_file(err), "cannot write trajectory") &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // the writer is asynchronous
    EXPECT_TRUE(contains(read_file(err), "cannot write trajectory")) << read_file(err);
    EXPECT_LT(proc_status_kib(daemon->pid(), "VmHWM"), kMemoryBoundKiB);
  }

  // Stopped and started again while the disk is still full: it must not lose or hide the
  // workflow. Starting is allowed to fail, clearly.
  daemon->terminate_and_wait();
  std::unique_ptr<TestDaemon> second;
  fs::remove(err);
  second = std::make_unique<TestDaemon>(TestDaemon::launch(wt.socket(), small, err));
  const TestDaemon::Outcome outcome = second->await();
  if (outcome == TestDaemon::Outcome::kListening) {
    SocketClient c(wt.socket());
    expect_history(c, 200);
  } else {
    ASSERT_EQ(outcome, TestDaemon::Outcome::kExited);
    EXPECT_NE(second->exit_status(), 0);
    EXPECT_TRUE(contains(read_file(err), "full") || contains(read_file(err), "No space"))
        << read_file(err);
  }

  std::cout << "[ figures  ] disk filled with " << filled_bytes
            << " bytes; restart on the full disk: "
            << (outcome == TestDaemon::Outcome::kListening ? "served the workflow"
                                                           : "refused to start: " + read_file(err))
            << std::endl;

  // Space returns: writes work again, and nothing acknowledged was lost.
  fs::remove(small / "filler");
  if (outcome != TestDaemon::Outcome::kListening) {
    second = std::make_unique<TestDaemon>(TestDaemon::launch(wt.socket(), small, err));
    ASSERT_EQ(second->await(), TestDaemon::Outcome::kListening) << read_file(err);
  }
  {
    SocketClient c(wt.socket());
    expect_history(c, 200);
    EXPECT_EQ(complete(c, "t1", "w1")["status"], "ok");
    EXPECT_EQ(claim(c, "w2")["data"]["task"]["id"], "t2");
  }
  second->terminate_and_wait();
  EXPECT_EQ(StateDb(db).integrity_check(), "ok");
  // A line cut short by the full disk is terminated before the next one: every line but such
  // a fragment parses, and each fragment is followed by a whole line.
  const std::string text = read_file(trajectory_path(small));
  std::istringstream lines(text);
  std::string line, previous_bad;
  int parsed = 0;
  bool last_was_bad = false;
  while (std::getline(lines, line)) {
    try {
      parse_json(line);
      ++parsed;
      last_was_bad = false;
    } catch (const std::exception&) {
      EXPECT_FALSE(last_was_bad) << "two bad lines in a row: " << previous_bad << " / " << line;
      previous_bad = line.substr(0, 100);
      last_was_bad = true;
    }
  }
  EXPECT_FALSE(last_was_bad);
  EXPECT_FALSE(text.empty() || text.back() != '\n');
  EXPECT_GT(parsed, 0);
}

// ---- a damaged or missing database while stopped ------------------------------------------------

TEST(StorageFaultsTest, CorruptHeaderRefusesToStartKeepsTheFileAndSaysHowToRecover) {
  ScratchWorktree wt;
  ASSERT_NO_FATAL_FAILURE(make_history(wt, 3));
  const fs::path db = state_db_path(wt.path());
  overwrite(db, 0, "this is not an SQLite header at all");
  const std::string damaged = read_file(db);

  StartAttempt a = try_start(wt);
  EXPECT_TRUE(exited_with_error(a));
  EXPECT_TRUE(contains(a.stderr_text, db.string())) << a.stderr_text;
  EXPECT_TRUE(contains(a.stderr_text, "damaged")) << a.stderr_text;
  EXPECT_TRUE(says_how_to_recover(a.stderr_text)) << a.stderr_text;
  EXPECT_EQ(read_file(db), damaged) << "the damaged file was modified";

  // A client that auto-spawns the daemon passes the reason on. The client waits for the daemon
  // to write it: under a sanitizer on a loaded machine, that took longer than a second.
  RunResult ping = run_harness({"ping"}, wt.socket(), wt.path(), {{"HARNESS_TIMEOUT", "20"}});
  EXPECT_EQ(ping.status, 1);
  EXPECT_TRUE(contains(ping.err, "damaged")) << ping.err;
  EXPECT_EQ(read_file(db), damaged);
}

// Garbage in the pages that hold the tasks (the header is intact, so SQLite opens the file).
TEST(StorageFaultsTest, CorruptTaskPagesAreNeverServedAsAWorkflow) {
  ScratchWorktree wt;
  ASSERT_NO_FATAL_FAILURE(make_history(wt, 2000));
  const fs::path db = state_db_path(wt.path());
  std::vector<long> pages = pages_of(db, "tasks");
  if (pages.empty()) {  // no dbstat: the table is most of the file past its root page
    const long last = static_cast<long>(fs::file_size(db) / kPageSize);
    for (long p = root_page_of(db, "tasks") + 1; p <= last; p += 4) pages.push_back(p);
  }
  ASSERT_GT(pages.size(), 4u);
  std::mt19937 rng(7);
  for (std::size_t i = 1; i < pages.size(); i += 3) {
    std::string garbage(kPageSize, '\0');
    for (char& ch : garbage) ch = static_cast<char>(rng());
    overwrite(db, (pages[i] - 1) * kPageSize, garbage);
  }
  const std::string damaged = read_file(db);

  StartAttempt a = try_start(wt);
  expect_no_silent_empty_start(a, db);
  EXPECT_TRUE(contains(a.stderr_text + a.get_state.dump(), "damaged"))
      << a.stderr_text << a.get_state.dump();
  EXPECT_EQ(read_file(db), damaged) << "the damaged file was modified";
}

// Damage found after the schema check (quick_check at start) still gets the recovery hint.
TEST(StorageFaultsTest, CorruptTaskPagesMessageSaysHowToRecover) {
  ScratchWorktree wt;
  ASSERT_NO_FATAL_FAILURE(make_history(wt, 2000));
  const fs::path db = state_db_path(wt.path());
  const long last = static_cast<long>(fs::file_size(db) / kPageSize);
  for (long p = last / 2; p < last - 1; p += 3)
    overwrite(db, (p - 1) * kPageSize, std::string(kPageSize, '\xff'));
  StartAttempt a = try_start(wt);
  EXPECT_TRUE(exited_with_error(a));
  EXPECT_TRUE(contains(a.stderr_text, "damaged")) << a.stderr_text;
  EXPECT_TRUE(says_how_to_recover(a.stderr_text)) << a.stderr_text;
}

// A damaged index (the ready-task index the claim uses): the daemon may start, but the write
// that meets the damage is refused with an error naming the database, and the file is kept.
TEST(StorageFaultsTest, CorruptIndexPageRefusesTheClaimThatMeetsIt) {
  ScratchWorktree wt;
  ASSERT_NO_FATAL_FAILURE(make_history(wt, 2000));
  const fs::path db = state_db_path(wt.path());
  overwrite(db, (root_page_of(db, "tasks_ready") - 1) * kPageSize, std::string(kPageSize, '\xff'));
  const std::string damaged = read_file(db);

  std::unique_ptr<TestDaemon> daemon;
  StartAttempt a = try_start(wt, &daemon);
  if (a.outcome == TestDaemon::Outcome::kListening) {
    Json r = parse_json(
        one_shot(wt.socket(), Json{{"command", "task_claim"}, {"worker_id", "w2"}}.dump()));
    EXPECT_EQ(r["status"], "error") << r.dump();
    EXPECT_TRUE(contains(r.value("message", ""), "damaged")) << r.dump();
    EXPECT_TRUE(contains(r.value("message", ""), db.string())) << r.dump();
    daemon->kill_hard();
  } else {
    EXPECT_TRUE(exited_with_error(a));
    EXPECT_TRUE(contains(a.stderr_text, db.string())) << a.stderr_text;
  }
  EXPECT_EQ(read_file(db), damaged);
}

// The database deleted while the daemon was stopped: the trajectory records earlier work, so
// the daemon refuses to start afresh.
TEST(StorageFaultsTest, DeletedDatabaseIsNotSilentlyReplacedByAnEmptyOne) {
  ScratchWorktree wt;
  ASSERT_NO_FATAL_FAILURE(make_history(wt, 3));
  const fs::path db = state_db_path(wt.path());
  fs::remove(db);
  StartAttempt a = try_start(wt);
  expect_no_silent_empty_start(a, db);
}

// The same after a crash, with the write-ahead log holding the latest commits still there.
TEST(StorageFaultsTest, DeletedDatabaseWithItsWalLeftBehindIsNotSilentlyEmpty) {
  ScratchWorktree wt;
  ASSERT_NO_FATAL_FAILURE(make_history(wt, 3, /*kill=*/true));
  const fs::path db = state_db_path(wt.path());
  ASSERT_TRUE(fs::exists(db.string() + "-wal"));
  fs::remove(db);
  StartAttempt a = try_start(wt);
  expect_no_silent_empty_start(a, db);
}

// A database truncated to zero bytes is damage, not a first start.
TEST(StorageFaultsTest, TruncatedDatabaseIsNotSilentlyTreatedAsEmpty) {
  ScratchWorktree wt;
  ASSERT_NO_FATAL_FAILURE(make_history(wt, 3));
  const fs::path db = state_db_path(wt.path());
  fs::resize_file(db, 0);
  StartAttempt a = try_start(wt);
  expect_no_silent_empty_start(a, db);
  EXPECT_EQ(fs::file_size(db), 0u) << "the truncated file was rewritten";
}

}  // namespace
}  // namespace harness::testing
