#include "store/sqlite_store.h"

#include <sqlite3.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/error.h"
#include "store/sqlite_schema.h"

namespace harness {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr Micros kT0 = 1'700'000'000'000'000;
constexpr Micros kSecond = kMicrosPerSecond;

Task task(std::string id, std::vector<std::string> deps = {}) {
  Task t;
  t.id = std::move(id);
  t.description = "do " + t.id;
  t.dependencies = std::move(deps);
  return t;
}

Workflow workflow(std::vector<Task> tasks) { return Workflow{std::move(tasks)}; }

// Runs `fn`, expecting a harness::Error of `kind`, and returns its message.
template <typename Fn>
std::string error_of(Error::Kind kind, Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "expected an Error";
  return {};
}

std::string rethrow_message(const std::exception_ptr& p) {
  try {
    std::rethrow_exception(p);
  } catch (const std::exception& e) {
    return e.what();
  }
  return {};
}

// A copy of the task `id` of `w` (a copy, so that it outlives a temporary workflow).
Task find(const std::optional<Workflow>& w, const std::string& id) {
  if (!w) {
    ADD_FAILURE() << "no workflow";
    return {};
  }
  for (const Task& t : w->tasks)
    if (t.id == id) return t;
  ADD_FAILURE() << "no task " << id;
  return {};
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (fs::temp_directory_path() / "harness-sqlite-XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
    db_ = dir_ / "state.db";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::unique_ptr<SqliteStore> open(SqliteStore::Access access = SqliteStore::Access::kReadWrite) {
    return std::make_unique<SqliteStore>(db_, access);
  }

  // Runs `ops` in one batch as the group committer runs its mutations (begin, each op, commit):
  // one slot per op, holding what it threw, or the commit's failure.
  static std::vector<std::exception_ptr> run_batch(BatchingStore& store,
                                                   const std::vector<std::function<void()>>& ops) {
    std::vector<std::exception_ptr> errors(ops.size());
    store.begin_batch();
    for (std::size_t i = 0; i < ops.size(); ++i)
      errors[i] = store.run_in_batch([&](Store&) { ops[i](); });
    if (std::exception_ptr failure = store.commit_batch()) errors.assign(ops.size(), failure);
    return errors;
  }

  // The id of the task `worker` claims at `now`, or "" when nothing is claimable.
  static std::string claim_id(Store& store, const std::string& worker, Micros now) {
    ClaimResult r = store.claim(worker, now);
    return r.task ? r.task->id : "";
  }

  // Runs `sql` through a connection of our own.
  void exec_sql(const std::string& sql, int flags = SQLITE_OPEN_READWRITE) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open_v2(db_.c_str(), &db, flags, nullptr), SQLITE_OK);
    char* error = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
        << (error ? error : "");
    sqlite3_free(error);
    sqlite3_close(db);
  }

  void exec_sql_creating(const std::string& sql) {
    exec_sql(sql, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  }

  // Makes SQLite refuse, with an error, every release of a dependent and every claim by w3.
  void refuse_releases_and_claims_by_w3() {
    exec_sql(
        "CREATE TRIGGER refuse_release BEFORE UPDATE OF unmet ON tasks "
        "BEGIN SELECT RAISE(ABORT, 'release refused'); END");
    exec_sql(
        "CREATE TRIGGER refuse_claim BEFORE UPDATE OF claimed_by ON tasks "
        "WHEN NEW.claimed_by = 'w3' BEGIN SELECT RAISE(ABORT, 'claim refused'); END");
  }

  // The first column of what `sql` selects from `file`, through a connection of our own.
  static std::set<std::string> selected(const fs::path& file, const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK);
    std::set<std::string> values;
    while (sqlite3_step(stmt) == SQLITE_ROW)
      values.insert(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return values;
  }

  // The names of the database's indexes.
  std::set<std::string> index_names() {
    return selected(db_, "SELECT name FROM sqlite_master WHERE type = 'index'");
  }

  // The schema's text as SQLite keeps it.
  static std::set<std::string> schema_of(const fs::path& file) {
    return selected(file,
                    "SELECT type || ' ' || name || ': ' || ifnull(sql, '') FROM sqlite_master");
  }

  // Lines of EXPLAIN QUERY PLAN for `sql`, through a connection of our own.
  std::string query_plan(const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(db_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    std::string plan;
    EXPECT_EQ(sqlite3_prepare_v2(db, ("EXPLAIN QUERY PLAN " + sql).c_str(), -1, &stmt, nullptr),
              SQLITE_OK)
        << sqlite3_errmsg(db);
    while (stmt && sqlite3_step(stmt) == SQLITE_ROW)
      plan += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3)) + std::string("\n");
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return plan;
  }

  fs::path dir_;
  fs::path db_;
};

// ---------------------------------------------------------------------------------------------
// Workflow replacement and load.

TEST_F(SqliteStoreTest, NoWorkflow) {
  auto store = open();
  EXPECT_EQ(store->load(), std::nullopt);
  EXPECT_EQ(store->status_counts(), std::nullopt);
  EXPECT_EQ(store->completion_mark("w"), std::nullopt);
  EXPECT_FALSE(store->claim("w", kT0).task.has_value());
  EXPECT_EQ(error_of(Error::Kind::kNotFound, [&] { store->complete("x", "w", kT0, std::nullopt); }),
            "Task x not found");
}

TEST_F(SqliteStoreTest, CreatesTheFileWithWal) {
  open();
  EXPECT_TRUE(fs::exists(db_));
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(db_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "wal");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

TEST_F(SqliteStoreTest, EmptyWorkflowIsAWorkflow) {
  auto store = open();
  store->replace_workflow(Workflow{}, ReplaceMode::kAlways);
  ASSERT_TRUE(store->load().has_value());
  EXPECT_TRUE(store->load()->tasks.empty());
  ASSERT_TRUE(store->status_counts().has_value());
  EXPECT_EQ(store->status_counts()->total(), 0);
}

Workflow rich_workflow() {
  Task done = task("zeta");
  done.status = TaskStatus::kCompleted;
  done.started_at = kT0 + 1;
  done.completed_at = kT0 + 2 * kSecond + 999'999;
  done.claimed_by = "w-old";
  done.timeout_seconds = 5;
  done.instructions = "line 1\nline 2 \"quoted\"";
  done.command = std::vector<std::string>{"sh", "-c", "echo 'hi'"};

  Task running = task("alpha", {"zeta"});
  running.status = TaskStatus::kRunning;
  running.started_at = kT0 + 123'456;
  running.claimed_by = "w1";
  running.timeout_seconds = 3600;
  running.lease_expires_at = kT0 + 123'456 + 3600 * kSecond;  // what a load derives

  Task failed = task("mid");
  failed.status = TaskStatus::kFailed;
  failed.description = "";
  failed.instructions = "";

  Task pending = task("beta", {"alpha", "zeta", "alpha"});
  pending.command = std::vector<std::string>{"true"};

  return workflow({done, running, failed, pending, task("omega")});
}

TEST_F(SqliteStoreTest, ReplaceThenLoadRoundTrips) {
  auto store = open();
  const Workflow w = rich_workflow();
  store->replace_workflow(w, ReplaceMode::kAlways);
  auto loaded = store->load();
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(*loaded, w);
  // Field by field for a readable failure.
  ASSERT_EQ(loaded->tasks.size(), 5u);
  EXPECT_EQ(loaded->tasks[0].id, "zeta");
  EXPECT_EQ(loaded->tasks[0].completed_at, kT0 + 2 * kSecond + 999'999);
  EXPECT_EQ(loaded->tasks[0].command, w.tasks[0].command);
  EXPECT_EQ(loaded->tasks[1].id, "alpha");
  EXPECT_EQ(loaded->tasks[2].instructions, std::optional<std::string>(""));
  EXPECT_EQ(loaded->tasks[3].dependencies, (std::vector<std::string>{"alpha", "zeta", "alpha"}));
  EXPECT_EQ(loaded->tasks[4].instructions, std::nullopt);
  EXPECT_EQ(loaded->tasks[4].command, std::nullopt);

  StatusCounts c = *store->status_counts();
  EXPECT_EQ(c.pending, 2);
  EXPECT_EQ(c.running, 1);
  EXPECT_EQ(c.completed, 1);
  EXPECT_EQ(c.failed, 1);
}

TEST_F(SqliteStoreTest, ReplaceKeepsPlanOrderOfManyTasks) {
  auto store = open();
  Workflow w;
  for (int i = 0; i < 2000; ++i) w.tasks.push_back(task("t" + std::to_string((i * 7919) % 2000)));
  store->replace_workflow(w, ReplaceMode::kAlways);
  EXPECT_EQ(*store->load(), w);
}

TEST_F(SqliteStoreTest, ReplaceAlwaysReplacesUnfinishedWork) {
  auto store = open();
  store->replace_workflow(workflow({task("a"), task("b")}), ReplaceMode::kAlways);
  ASSERT_EQ(claim_id(*store, "w", kT0), "a");
  const Workflow next = workflow({task("x"), task("y", {"x"})});
  store->replace_workflow(next, ReplaceMode::kAlways);
  EXPECT_EQ(*store->load(), next);
  // The old tasks are gone entirely, and so is the worker's hold on "a".
  EXPECT_EQ(error_of(Error::Kind::kNotFound, [&] { store->complete("a", "w", kT0, std::nullopt); }),
            "Task a not found");
  ClaimResult r = store->claim("w", kT0 + 1);
  ASSERT_TRUE(r.task);
  EXPECT_EQ(r.task->id, "x");
  EXPECT_FALSE(r.is_retry);
}

TEST_F(SqliteStoreTest, ReplaceWithInvalidGraphThrowsAndKeepsThePrevious) {
  auto store = open();
  const Workflow good = workflow({task("a"), task("b", {"a"})});
  store->replace_workflow(good, ReplaceMode::kAlways);
  ASSERT_EQ(claim_id(*store, "w", kT0), "a");
  const Workflow after_claim = *store->load();

  EXPECT_EQ(
      error_of(
          Error::Kind::kInvalidArgument,
          [&] { store->replace_workflow(workflow({task("a", {"ghost"})}), ReplaceMode::kAlways); }),
      "Missing dependency: ghost (required by a)");
  EXPECT_THAT(error_of(Error::Kind::kInvalidArgument,
                       [&] {
                         store->replace_workflow(workflow({task("x", {"y"}), task("y", {"x"})}),
                                                 ReplaceMode::kAlways);
                       }),
              HasSubstr("Cycle detected at"));
  EXPECT_EQ(
      error_of(Error::Kind::kInvalidArgument,
               [&] {
                 store->replace_workflow(workflow({task("a"), task("a")}), ReplaceMode::kAlways);
               }),
      "Duplicate task id: a");
  EXPECT_EQ(*store->load(), after_claim);
}

TEST_F(SqliteStoreTest, InvalidFirstWorkflowCreatesNothing) {
  auto store = open();
  EXPECT_THROW(store->replace_workflow(workflow({task("a", {"a"})}), ReplaceMode::kAlways), Error);
  EXPECT_EQ(store->load(), std::nullopt);
  EXPECT_EQ(store->status_counts(), std::nullopt);
}

TEST_F(SqliteStoreTest, UnlessUnfinishedAllowsTheFirstWorkflow) {
  auto store = open();
  const Workflow w = workflow({task("a")});
  store->replace_workflow(w, ReplaceMode::kUnlessUnfinished);
  EXPECT_EQ(*store->load(), w);
}

TEST_F(SqliteStoreTest, UnlessUnfinishedRefusesWhilePendingTasksExist) {
  auto store = open();
  const Workflow w = workflow({task("a"), task("b")});
  store->replace_workflow(w, ReplaceMode::kAlways);
  std::string m = error_of(Error::Kind::kConflict, [&] {
    store->replace_workflow(workflow({task("new")}), ReplaceMode::kUnlessUnfinished);
  });
  EXPECT_THAT(m, HasSubstr("2 pending"));
  EXPECT_EQ(*store->load(), w);
}

TEST_F(SqliteStoreTest, UnlessUnfinishedRefusesWhileRunningTasksExist) {
  auto store = open();
  store->replace_workflow(workflow({task("a"), task("b")}), ReplaceMode::kAlways);
  ASSERT_EQ(claim_id(*store, "w1", kT0), "a");
  store->complete("a", "w1", kT0 + 1, std::nullopt);
  ASSERT_EQ(claim_id(*store, "w1", kT0 + 2), "b");
  const Workflow before = *store->load();
  std::string m = error_of(Error::Kind::kConflict, [&] {
    store->replace_workflow(workflow({task("new")}), ReplaceMode::kUnlessUnfinished);
  });
  EXPECT_THAT(m, HasSubstr("1 running"));
  EXPECT_EQ(*store->load(), before);
}

TEST_F(SqliteStoreTest, UnlessUnfinishedAllowsWhenAllCompletedOrFailed) {
  auto store = open();
  Task failed = task("f");
  failed.status = TaskStatus::kFailed;
  store->replace_workflow(workflow({task("a"), failed}), ReplaceMode::kAlways);
  ASSERT_EQ(claim_id(*store, "w1", kT0), "a");
  store->complete("a", "w1", kT0 + 1, std::nullopt);
  const Workflow next = workflow({task("n1"), task("n2", {"n1"})});
  store->replace_workflow(next, ReplaceMode::kUnlessUnfinished);
  EXPECT_EQ(*store->load(), next);
}

TEST_F(SqliteStoreTest, InvalidGraphCheckedBeforeUnfinishedConflict) {
  auto store = open();
  store->replace_workflow(workflow({task("a")}), ReplaceMode::kAlways);
  EXPECT_EQ(error_of(Error::Kind::kInvalidArgument,
                     [&] {
                       store->replace_workflow(workflow({task("b", {"ghost"})}),
                                               ReplaceMode::kUnlessUnfinished);
                     }),
            "Missing dependency: ghost (required by b)");
}

// ---------------------------------------------------------------------------------------------
// Claim.

TEST_F(SqliteStoreTest, ClaimFollowsPlanOrder) {
  auto store = open();
  store->replace_workflow(workflow({task("c"), task("a"), task("b")}), ReplaceMode::kAlways);
  ClaimResult r = store->claim("w1", kT0);
  ASSERT_TRUE(r.task);
  EXPECT_EQ(r.task->id, "c");
  EXPECT_FALSE(r.is_retry);
  EXPECT_FALSE(r.is_reclaim);
  EXPECT_EQ(r.task->status, TaskStatus::kRunning);
  EXPECT_EQ(r.task->claimed_by, "w1");
  EXPECT_EQ(r.task->started_at, kT0);
  EXPECT_EQ(r.task->description, "do c");
  EXPECT_EQ(claim_id(*store, "w2", kT0), "a");
  EXPECT_EQ(claim_id(*store, "w3", kT0), "b");
  ClaimResult none = store->claim("w4", kT0);
  EXPECT_FALSE(none.task.has_value());
  EXPECT_FALSE(none.is_retry);
  EXPECT_FALSE(none.is_reclaim);
  StatusCounts c = *store->status_counts();
  EXPECT_EQ(c.running, 3);
  EXPECT_EQ(c.pending, 0);
}

TEST_F(SqliteStoreTest, ClaimSkipsBlockedTasksInPlanOrder) {
  auto store = open();
  // "late" comes first in the plan but waits for "root"; "free" is ready at once.
  store->replace_workflow(workflow({task("late", {"root"}), task("root"), task("free")}),
                          ReplaceMode::kAlways);
  EXPECT_EQ(claim_id(*store, "w1", kT0), "root");
  EXPECT_EQ(claim_id(*store, "w2", kT0), "free");
  EXPECT_EQ(claim_id(*store, "w3", kT0), "");
  store->complete("root", "w1", kT0 + 1, std::nullopt);
  EXPECT_EQ(claim_id(*store, "w3", kT0 + 2), "late");
}

TEST_F(SqliteStoreTest, DependenciesBlockUntilCompleted) {
  auto store = open();
  store->replace_workflow(workflow({task("a"), task("b", {"a"}), task("c", {"b"})}),
                          ReplaceMode::kAlways);
  EXPECT_EQ(claim_id(*store, "w1", kT0), "a");
  EXPECT_EQ(claim_id(*store, "w2", kT0), "");  // b waits for a, which is only running
  store->complete("a", "w1", kT0 + 1, std::nullopt);
  EXPECT_EQ(claim_id(*store, "w2", kT0 + 2), "b");
  EXPECT_EQ(claim_id(*store, "w1", kT0 + 2), "");  // c waits for b
  store->complete("b", "w2", kT0 + 3, std::nullopt);
  EXPECT_EQ(claim_id(*store, "w1", kT0 + 4), "c");
}

TEST_F(SqliteStoreTest, FailedDependencyBlocksForever) {
  auto store = open();
  Task failed = task("a");
  failed.status = TaskStatus::kFailed;
  store->replace_workflow(workflow({failed, task("b", {"a"})}), ReplaceMode::kAlways);
  EXPECT_EQ(claim_id(*store, "w1", kT0), "");
  EXPECT_EQ(claim_id(*store, "w1", kT0 + 1'000'000 * kSecond), "");
}

TEST_F(SqliteStoreTest, ImportedCompletedDependenciesCount) {
  auto store = open();
  Task done = task("a");
  done.status = TaskStatus::kCompleted;
  store->replace_workflow(workflow({done, task("b", {"a"}), task("c", {"a", "b"})}),
                          ReplaceMode::kAlways);
  EXPECT_EQ(claim_id(*store, "w1", kT0), "b");
  EXPECT_EQ(claim_id(*store, "w2", kT0), "");
}

TEST_F(SqliteStoreTest, ClaimAgainRenewsTheSameTask) {
  auto store = open();
  store->replace_workflow(workflow({task("a"), task("b")}), ReplaceMode::kAlways);
  ManualClock clock(kT0);
  ASSERT_EQ(claim_id(*store, "w1", clock.now()), "a");
  clock.advance(7 * kSecond + 3);
  ClaimResult again = store->claim("w1", clock.now());
  ASSERT_TRUE(again.task);
  EXPECT_EQ(again.task->id, "a");
  EXPECT_TRUE(again.is_retry);
  EXPECT_FALSE(again.is_reclaim);
  EXPECT_EQ(again.task->started_at, clock.now());
  EXPECT_EQ(again.task->claimed_by, "w1");
  EXPECT_EQ(find(store->load(), "a").started_at, clock.now());
  // "b" is still pending: the retry did not take a second task.
  EXPECT_EQ(find(store->load(), "b").status, TaskStatus::kPending);
}

TEST_F(SqliteStoreTest, RenewalExtendsTheLease) {
  auto store = open();
  Task t = task("a");
  t.timeout_seconds = 10;
  store->replace_workflow(workflow({t}), ReplaceMode::kAlways);
  ASSERT_EQ(claim_id(*store, "A", kT0), "a");
  ASSERT_TRUE(store->claim("A", kT0 + 8 * kSecond).is_retry);
  // The original lease would have expired here, the renewed one has not.
  EXPECT_EQ(claim_id(*store, "B", kT0 + 10 * kSecond + 1), "");
  EXPECT_EQ(claim_id(*store, "B", kT0 + 18 * kSecond), "");
  ClaimResult r = store->claim("B", kT0 + 18 * kSecond + 1);
  ASSERT_TRUE(r.task);
  EXPECT_TRUE(r.is_reclaim);
}

TEST_F(SqliteStoreTest, LeaseExpiryIsStrictAndReclaimMovesTheTask) {
  auto store = open();
  Task t = task("a");
  t.timeout_seconds = 10;
  store->replace_workflow(workflow({t, task("b", {"a"})}), ReplaceMode::kAlways);
  ManualClock clock(kT0);
  ASSERT_EQ(claim_id(*store, "A", clock.now()), "a");

  clock.advance(10 * kSecond);  // now - started_at == timeout: not expired yet
  EXPECT_EQ(claim_id(*store, "B", clock.now()), "");

  clock.advance(1);  // one microsecond later it is
  ClaimResult r = store->claim("B", clock.now());
  ASSERT_TRUE(r.task);
  EXPECT_EQ(r.task->id, "a");
  EXPECT_TRUE(r.is_reclaim);
  EXPECT_FALSE(r.is_retry);
  EXPECT_EQ(r.task->claimed_by, "B");
  EXPECT_EQ(r.task->status, TaskStatus::kRunning);
  EXPECT_EQ(r.task->started_at, clock.now());

  // A lost it: it cannot complete it, and claiming again does not give it back.
  EXPECT_EQ(error_of(Error::Kind::kConflict,
                     [&] { store->complete("a", "A", clock.now(), std::nullopt); }),
            "Task a is not claimed by A");
  ClaimResult a_again = store->claim("A", clock.now());
  EXPECT_FALSE(a_again.task.has_value());

  // B's renewal is a retry, and B can complete it.
  ClaimResult b_again = store->claim("B", clock.now() + 1);
  ASSERT_TRUE(b_again.task);
  EXPECT_TRUE(b_again.is_retry);
  EXPECT_FALSE(b_again.is_reclaim);
  store->complete("a", "B", clock.now() + 2, std::nullopt);
  EXPECT_EQ(claim_id(*store, "A", clock.now() + 3), "b");
}

TEST_F(SqliteStoreTest, PendingTasksComeBeforeExpiredLeases) {
  auto store = open();
  Task t = task("a");
  t.timeout_seconds = 1;
  store->replace_workflow(workflow({t, task("b")}), ReplaceMode::kAlways);
  ASSERT_EQ(claim_id(*store, "A", kT0), "a");
  ClaimResult r = store->claim("B", kT0 + 100 * kSecond);
  ASSERT_TRUE(r.task);
  EXPECT_EQ(r.task->id, "b");
  EXPECT_FALSE(r.is_reclaim);
  r = store->claim("C", kT0 + 100 * kSecond);
  ASSERT_TRUE(r.task);
  EXPECT_EQ(r.task->id, "a");
  EXPECT_TRUE(r.is_reclaim);
}

TEST_F(SqliteStoreTest, ReclaimTakesTheOldestExpiredLeaseFirst) {
  auto store = open();
  Task a = task("a"), b = task("b");
  a.timeout_seconds = 100;
  b.timeout_seconds = 10;
  store->replace_workflow(workflow({a, b}), ReplaceMode::kAlways);
  ASSERT_EQ(claim_id(*store, "A", kT0), "a");
  ASSERT_EQ(claim_id(*store, "B", kT0), "b");
  // Both have expired; b's lease ended first.
  EXPECT_EQ(claim_id(*store, "C", kT0 + 200 * kSecond), "b");
  EXPECT_EQ(claim_id(*store, "D", kT0 + 200 * kSecond), "a");
  EXPECT_EQ(claim_id(*store, "E", kT0 + 200 * kSecond), "");
}

TEST_F(SqliteStoreTest, ImportedRunningTasksHaveLeases) {
  auto store = open();
  Task with_start = task("a");
  with_start.status = TaskStatus::kRunning;
  with_start.claimed_by = "old";
  with_start.started_at = kT0;
  with_start.timeout_seconds = 10;
  Task without_start = task("b");
  without_start.status = TaskStatus::kRunning;
  without_start.claimed_by = "gone";
  store->replace_workflow(workflow({with_start, without_start}), ReplaceMode::kAlways);

  // The owner of an imported task renews it.
  ClaimResult own = store->claim("old", kT0 + kSecond);
  ASSERT_TRUE(own.task);
  EXPECT_EQ(own.task->id, "a");
  EXPECT_TRUE(own.is_retry);
  // A running task without a start time can be reclaimed at once; "a" cannot.
  ClaimResult r = store->claim("new", kT0 + 2 * kSecond);
  ASSERT_TRUE(r.task);
  EXPECT_EQ(r.task->id, "b");
  EXPECT_TRUE(r.is_reclaim);
  EXPECT_EQ(claim_id(*store, "other", kT0 + 2 * kSecond), "");
}

TEST_F(SqliteStoreTest, ExpiredRunningTaskWithUnmetDependenciesIsNotReclaimed) {
  auto store = open();
  Task b = task("b", {"a"});
  b.status = TaskStatus::kRunning;
  b.claimed_by = "old";
  b.started_at = kT0;
  b.timeout_seconds = 1;
  store->replace_workflow(workflow({task("a"), b}), ReplaceMode::kAlways);
  EXPECT_EQ(claim_id(*store, "w1", kT0 + 100 * kSecond), "a");
  EXPECT_EQ(claim_id(*store, "w2", kT0 + 100 * kSecond), "");
}

// ---------------------------------------------------------------------------------------------
// Complete.

TEST_F(SqliteStoreTest, CompleteRecordsTheCompletion) {
  auto store = open();
  store->replace_workflow(workflow({task("a"), task("b")}), ReplaceMode::kAlways);
  ASSERT_EQ(claim_id(*store, "w1", kT0), "a");
  store->complete("a", "w1", kT0 + 5 * kSecond + 7, std::nullopt);
  const Task a = find(store->load(), "a");
  EXPECT_EQ(a.status, TaskStatus::kCompleted);
  EXPECT_EQ(a.completed_at, kT0 + 5 * kSecond + 7);
  EXPECT_EQ(a.started_at, kT0);
  EXPECT_EQ(a.claimed_by, "w1");
  StatusCounts c = *store->status_counts();
  EXPECT_EQ(c.completed, 1);
  EXPECT_EQ(c.pending, 1);
  EXPECT_EQ(c.running, 0);
  // The worker is free again: its next claim is a new task, not a retry.
  ClaimResult next = store->claim("w1", kT0 + 6 * kSecond);
  ASSERT_TRUE(next.task);
  EXPECT_EQ(next.task->id, "b");
  EXPECT_FALSE(next.is_retry);
}

TEST_F(SqliteStoreTest, CompletedTaskIsNeverReclaimed) {
  auto store = open();
  Task t = task("a");
  t.timeout_seconds = 1;
  store->replace_workflow(workflow({t}), ReplaceMode::kAlways);
  ASSERT_EQ(claim_id(*store, "w1", kT0), "a");
  store->complete("a", "w1", kT0 + 1, std::nullopt);
  EXPECT_EQ(claim_id(*store, "w2", kT0 + 1000 * kSecond), "");
}

TEST_F(SqliteStoreTest, CompleteErrors) {
  auto store = open();
  store->replace_workflow(workflow({task("a"), task("b"), task("c")}), ReplaceMode::kAlways);
  ASSERT_EQ(claim_id(*store, "w1", kT0), "a");
  const Workflow before = *store->load();

  EXPECT_EQ(
      error_of(Error::Kind::kNotFound, [&] { store->complete("X", "w1", kT0, std::nullopt); }),
      "Task X not found");
  EXPECT_EQ(error_of(Error::Kind::kConflict, [&] { store->complete("a", "W", kT0, std::nullopt); }),
            "Task a is not claimed by W");
  // A pending task is claimed by nobody.
  EXPECT_EQ(
      error_of(Error::Kind::kConflict, [&] { store->complete("b", "w1", kT0, std::nullopt); }),
      "Task b is not claimed by w1");
  EXPECT_EQ(*store->load(), before);

  store->complete("a", "w1", kT0 + 1, "abc123");
  EXPECT_THAT(error_of(Error::Kind::kConflict, [&] { store->complete("a", "w1", kT0 + 2, "def"); }),
              HasSubstr("already completed"));
  EXPECT_EQ(
      error_of(Error::Kind::kConflict, [&] { store->complete("a", "w2", kT0 + 2, std::nullopt); }),
      "Task a is already completed");
  // The rejected completion neither moved the completion time nor the mark.
  EXPECT_EQ(find(store->load(), "a").completed_at, kT0 + 1);
  ASSERT_TRUE(store->completion_mark("w1").has_value());
  EXPECT_EQ(store->completion_mark("w1")->commit, "abc123");
}

TEST_F(SqliteStoreTest, FailedTaskCannotBeCompleted) {
  auto store = open();
  Task f = task("f");
  f.status = TaskStatus::kFailed;
  f.claimed_by = "w1";
  store->replace_workflow(workflow({f}), ReplaceMode::kAlways);
  EXPECT_EQ(
      error_of(Error::Kind::kConflict, [&] { store->complete("f", "w1", kT0, std::nullopt); }),
      "Task f is not claimed by w1");
}

TEST_F(SqliteStoreTest, DoubleCompletionDoesNotReleaseDependentsTwice) {
  auto store = open();
  store->replace_workflow(workflow({task("a"), task("b"), task("c", {"a", "b"})}),
                          ReplaceMode::kAlways);
  ASSERT_EQ(claim_id(*store, "w1", kT0), "a");
  ASSERT_EQ(claim_id(*store, "w2", kT0), "b");
  store->complete("a", "w1", kT0 + 1, std::nullopt);
  EXPECT_THROW(store->complete("a", "w1", kT0 + 2, std::nullopt), Error);
  EXPECT_THROW(store->complete("a", "w1", kT0 + 3, std::nullopt), Error);
  // c still waits for b.
  EXPECT_EQ(claim_id(*store, "w3", kT0 + 4), "");
  store->complete("b", "w2", kT0 + 5, std::nullopt);
  EXPECT_EQ(claim_id(*store, "w3", kT0 + 6), "c");
}

TEST_F(SqliteStoreTest, RepeatedDependencyIsReleasedByOneCompletion) {
  auto store = open();
  store->replace_workflow(workflow({task("a"), task("b", {"a", "a", "a"})}), ReplaceMode::kAlways);
  ASSERT_EQ(claim_id(*store, "w1", kT0), "a");
  EXPECT_EQ(claim_id(*store, "w2", kT0), "");
  store->complete("a", "w1", kT0 + 1, std::nullopt);
  EXPECT_EQ(claim_id(*store, "w2", kT0 + 2), "b");
}

TEST_F(SqliteStoreTest, CompletingRootReleasesTheWholeFanOut) {
  auto store = open();
  constexpr int kChildren = 50;
  Workflow w = workflow({task("root")});
  for (int i = 0; i < kChildren; ++i)
    w.tasks.push_back(task("child-" + std::to_string(i), {"root"}));
  w.tasks.push_back(task("join", {"child-0", "child-49"}));
  store->replace_workflow(w, ReplaceMode::kAlways);

  ASSERT_EQ(claim_id(*store, "boss", kT0), "root");
  EXPECT_EQ(claim_id(*store, "w0", kT0), "");
  store->complete("root", "boss", kT0 + 1, std::nullopt);
  for (int i = 0; i < kChildren; ++i)
    EXPECT_EQ(claim_id(*store, "w" + std::to_string(i), kT0 + 2), "child-" + std::to_string(i));
  EXPECT_EQ(claim_id(*store, "late", kT0 + 2), "");
  store->complete("child-0", "w0", kT0 + 3, std::nullopt);
  EXPECT_EQ(claim_id(*store, "late", kT0 + 4), "");
  store->complete("child-49", "w49", kT0 + 5, std::nullopt);
  EXPECT_EQ(claim_id(*store, "late", kT0 + 6), "join");
}

TEST_F(SqliteStoreTest, LastCompletionMarkOnlyWithHeadCommit) {
  auto store = open();
  store->replace_workflow(workflow({task("a"), task("b"), task("c")}), ReplaceMode::kAlways);
  ASSERT_EQ(claim_id(*store, "w", kT0), "a");
  store->complete("a", "w", kT0 + 1, std::nullopt);
  EXPECT_EQ(store->completion_mark("w"), std::nullopt);

  ASSERT_EQ(claim_id(*store, "w", kT0 + 2), "b");
  store->complete("b", "w", kT0 + 3, "0123456789abcdef");
  auto mark = store->completion_mark("w");
  ASSERT_TRUE(mark.has_value());
  EXPECT_EQ(mark->task_id, "b");
  EXPECT_EQ(mark->commit, "0123456789abcdef");

  ASSERT_EQ(claim_id(*store, "w", kT0 + 4), "c");
  store->complete("c", "w", kT0 + 5, std::nullopt);
  mark = store->completion_mark("w");
  ASSERT_TRUE(mark.has_value());
  EXPECT_EQ(mark->task_id, "b");

  // It is durable.
  store.reset();
  mark = open()->completion_mark("w");
  ASSERT_TRUE(mark.has_value());
  EXPECT_EQ(mark->task_id, "b");
  EXPECT_EQ(mark->commit, "0123456789abcdef");
}

// Issue 13 item 10: A's completion must not become B's commit gate, and a replaced plan's
// marks must not name its tasks any more.
TEST_F(SqliteStoreTest, CompletionMarksArePerWorkerAndDroppedWithThePlan) {
  auto store = open();
  store->replace_workflow(workflow({task("a1"), task("b1"), task("a2")}), ReplaceMode::kAlways);
  ASSERT_EQ(claim_id(*store, "A", kT0), "a1");
  ASSERT_EQ(claim_id(*store, "B", kT0), "b1");
  store->complete("a1", "A", kT0 + 1, "head-a");
  EXPECT_EQ(store->completion_mark("B"), std::nullopt);
  ASSERT_TRUE(store->completion_mark("A").has_value());
  EXPECT_EQ(store->completion_mark("A")->task_id, "a1");
  store->complete("b1", "B", kT0 + 2, "head-b");
  EXPECT_EQ(store->completion_mark("A")->commit, "head-a");
  EXPECT_EQ(store->completion_mark("B")->commit, "head-b");

  store->replace_workflow(workflow({task("x")}), ReplaceMode::kAlways);
  EXPECT_EQ(store->completion_mark("A"), std::nullopt);
  EXPECT_EQ(store->completion_mark("B"), std::nullopt);
  EXPECT_EQ(store->meta("schema_version"),
            std::to_string(current_schema_version()));  // other meta rows are kept
}

// Issue 13 item 19: a claim that finds nothing says whether anything can still come.
TEST_F(SqliteStoreTest, ClaimWithoutTaskSaysWhetherThePlanIsComplete) {
  auto store = open();
  EXPECT_TRUE(store->claim("w", kT0).plan_complete);  // no workflow: nothing will come
  store->replace_workflow(workflow({task("a"), task("b", {"a"})}), ReplaceMode::kAlways);
  ClaimResult first = store->claim("w1", kT0);
  ASSERT_TRUE(first.task.has_value());
  EXPECT_FALSE(first.plan_complete);
  ClaimResult blocked = store->claim("w2", kT0);  // b waits for w1's running a
  EXPECT_FALSE(blocked.task.has_value());
  EXPECT_FALSE(blocked.plan_complete);
  store->complete("a", "w1", kT0 + 1, std::nullopt);
  ASSERT_EQ(claim_id(*store, "w2", kT0 + 2), "b");
  store->complete("b", "w2", kT0 + 3, std::nullopt);
  ClaimResult done = store->claim("w1", kT0 + 4);
  EXPECT_FALSE(done.task.has_value());
  EXPECT_TRUE(done.plan_complete);

  // Blocked behind a failed task: nothing can run without an operator.
  Task failed = task("f");
  failed.status = TaskStatus::kFailed;
  store->replace_workflow(workflow({failed, task("g", {"f"})}), ReplaceMode::kAlways);
  EXPECT_TRUE(store->claim("w1", kT0 + 5).plan_complete);
}

TEST_F(SqliteStoreTest, MetaRoundTrips) {
  auto store = open();
  EXPECT_EQ(store->meta("legacy_import"), std::nullopt);
  store->set_meta("legacy_import", "done");
  EXPECT_EQ(store->meta("legacy_import"), "done");
  store->set_meta("legacy_import", "again");
  EXPECT_EQ(store->meta("legacy_import"), "again");
  store.reset();
  EXPECT_EQ(open()->meta("legacy_import"), "again");
}

// ---------------------------------------------------------------------------------------------
// Batches.

TEST_F(SqliteStoreTest, BatchedClaimsGetDistinctTasks) {
  auto store = open();
  store->replace_workflow(workflow({task("a"), task("b"), task("c"), task("d", {"a"})}),
                          ReplaceMode::kAlways);
  std::vector<ClaimResult> results(4);
  std::vector<std::function<void()>> ops;
  for (int i = 0; i < 4; ++i)
    ops.push_back([&, i] { results[i] = store->claim("w" + std::to_string(i), kT0); });
  std::vector<std::exception_ptr> errors = run_batch(*store, ops);
  ASSERT_EQ(errors.size(), 4u);
  for (const auto& e : errors) EXPECT_EQ(e, nullptr);
  ASSERT_TRUE(results[0].task && results[1].task && results[2].task);
  EXPECT_EQ(results[0].task->id, "a");
  EXPECT_EQ(results[1].task->id, "b");
  EXPECT_EQ(results[2].task->id, "c");
  EXPECT_FALSE(results[3].task.has_value());

  // Committed, and visible to another connection.
  auto other = open();
  StatusCounts c = *other->status_counts();
  EXPECT_EQ(c.running, 3);
  EXPECT_EQ(c.pending, 1);
}

TEST_F(SqliteStoreTest, BatchUndoesAThrowingOpAlone) {
  auto store = open();
  store->replace_workflow(workflow({task("a"), task("b"), task("c"), task("d")}),
                          ReplaceMode::kAlways);
  ASSERT_EQ(claim_id(*store, "w0", kT0), "a");

  std::string first;
  std::vector<std::function<void()>> ops = {
      [&] { store->complete("a", "w0", kT0 + 1, "head-1"); },
      [&] { store->complete("nope", "w0", kT0 + 1, "head-2"); },  // throws inside the store
      [&] { first = claim_id(*store, "w1", kT0 + 1); },
      // Fails before its write (a mutation's write is its last step): nothing is written.
      [&] { throw std::runtime_error("worker went away"); },
      [&] { claim_id(*store, "w3", kT0 + 1); },
  };
  std::vector<std::exception_ptr> errors = run_batch(*store, ops);
  ASSERT_EQ(errors.size(), 5u);
  EXPECT_EQ(errors[0], nullptr);
  ASSERT_NE(errors[1], nullptr);
  EXPECT_EQ(rethrow_message(errors[1]), "Task nope not found");
  try {
    std::rethrow_exception(errors[1]);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kNotFound);
  }
  EXPECT_EQ(errors[2], nullptr);
  ASSERT_NE(errors[3], nullptr);
  EXPECT_EQ(rethrow_message(errors[3]), "worker went away");
  EXPECT_EQ(errors[4], nullptr);
  EXPECT_EQ(first, "b");

  const Workflow after = *open()->load();
  EXPECT_EQ(find(after, "a").status, TaskStatus::kCompleted);
  EXPECT_EQ(find(after, "b").claimed_by, "w1");
  // w2's op left nothing, so w3 took c.
  EXPECT_EQ(find(after, "c").claimed_by, "w3");
  EXPECT_EQ(find(after, "c").status, TaskStatus::kRunning);
  EXPECT_EQ(find(after, "d").status, TaskStatus::kPending);
  ASSERT_TRUE(store->completion_mark("w0").has_value());
  EXPECT_EQ(store->completion_mark("w0")->task_id, "a");
  EXPECT_EQ(store->completion_mark("w0")->commit, "head-1");
}

// A write that fails halfway inside a batch is undone whole, even when its op goes on: SQLite
// is made to refuse the second of its statements (or the only one) with a trigger.
TEST_F(SqliteStoreTest, BatchedWriteThatFailsHalfwayIsUndoneWhole) {
  auto store = open();
  store->replace_workflow(workflow({task("a"), task("b", {"a"}), task("c")}), ReplaceMode::kAlways);
  ASSERT_EQ(claim_id(*store, "w1", kT0), "a");
  refuse_releases_and_claims_by_w3();
  std::string complete_error, claim_error, later;
  std::vector<std::exception_ptr> errors =
      run_batch(*store, {
                            [&] {
                              try {  // completing a marks it completed, then fails to release b
                                store->complete("a", "w1", kT0 + 1, std::nullopt);
                              } catch (const Error& e) {
                                complete_error = e.what();
                              }
                            },
                            [&] {
                              try {  // one statement, refused
                                claim_id(*store, "w3", kT0 + 1);
                              } catch (const Error& e) {
                                claim_error = e.what();
                              }
                            },
                            [&] { later = claim_id(*store, "w4", kT0 + 1); },
                        });
  for (const auto& e : errors) EXPECT_EQ(e, nullptr) << rethrow_message(e);
  EXPECT_THAT(complete_error, HasSubstr("release refused"));
  EXPECT_THAT(claim_error, HasSubstr("claim refused"));
  EXPECT_EQ(later, "c");
  const Workflow after = *open()->load();
  EXPECT_EQ(find(after, "a").status, TaskStatus::kRunning);
  EXPECT_EQ(find(after, "a").completed_at, std::nullopt);
  EXPECT_EQ(find(after, "b").status, TaskStatus::kPending);
  EXPECT_EQ(find(after, "c").claimed_by, "w4");
}

// The same step by step: a store call that fails leaves nothing, and its neighbours in the
// batch are kept.
TEST_F(SqliteStoreTest, StoreCallInBatchThatFailsHalfwayLeavesNothing) {
  auto store = open();
  store->replace_workflow(workflow({task("a"), task("b", {"a"}), task("c"), task("d")}),
                          ReplaceMode::kAlways);
  ASSERT_EQ(claim_id(*store, "w1", kT0), "a");
  refuse_releases_and_claims_by_w3();
  std::string before, after;
  store->begin_batch();
  EXPECT_EQ(store->run_in_batch([&](Store& s) { before = claim_id(s, "w2", kT0 + 1); }), nullptr);
  const std::exception_ptr complete_error =
      store->run_in_batch([&](Store& s) { s.complete("a", "w1", kT0 + 1, std::nullopt); });
  const std::exception_ptr claim_error =
      store->run_in_batch([&](Store& s) { claim_id(s, "w3", kT0 + 1); });
  EXPECT_EQ(store->run_in_batch([&](Store& s) { after = claim_id(s, "w4", kT0 + 1); }), nullptr);
  EXPECT_EQ(store->commit_batch(), nullptr);
  EXPECT_THAT(rethrow_message(complete_error), HasSubstr("release refused"));
  EXPECT_THAT(rethrow_message(claim_error), HasSubstr("claim refused"));
  EXPECT_EQ(before, "c");
  EXPECT_EQ(after, "d");
  const Workflow state = *open()->load();
  EXPECT_EQ(find(state, "a").status, TaskStatus::kRunning);
  EXPECT_EQ(find(state, "b").status, TaskStatus::kPending);
  EXPECT_EQ(find(state, "c").claimed_by, "w2");
  EXPECT_EQ(find(state, "d").claimed_by, "w4");
}

TEST_F(SqliteStoreTest, BatchOpsSeeEarlierOpsOfTheBatch) {
  auto store = open();
  store->replace_workflow(workflow({task("a"), task("b", {"a"})}), ReplaceMode::kAlways);
  std::string second;
  std::optional<StatusCounts> counts;
  std::vector<std::exception_ptr> errors =
      run_batch(*store, {
                            [&] { claim_id(*store, "w1", kT0); },
                            [&] { store->complete("a", "w1", kT0 + 1, std::nullopt); },
                            [&] { second = claim_id(*store, "w2", kT0 + 2); },
                            [&] { counts = store->status_counts(); },
                        });
  for (const auto& e : errors) EXPECT_EQ(e, nullptr) << rethrow_message(e);
  EXPECT_EQ(second, "b");
  ASSERT_TRUE(counts.has_value());
  EXPECT_EQ(counts->completed, 1);
  EXPECT_EQ(counts->running, 1);
}

TEST_F(SqliteStoreTest, EmptyBatch) {
  auto store = open();
  EXPECT_TRUE(run_batch(*store, {}).empty());
  // The store is usable afterwards (no transaction left open).
  store->replace_workflow(workflow({task("a")}), ReplaceMode::kAlways);
  EXPECT_EQ(open()->load()->tasks.size(), 1u);
}

TEST_F(SqliteStoreTest, BatchNotVisibleToOthersUntilCommitted) {
  auto store = open();
  auto reader = open(SqliteStore::Access::kReadOnly);
  store->replace_workflow(workflow({task("a")}), ReplaceMode::kAlways);
  std::optional<StatusCounts> seen_by_reader;
  run_batch(*store, {
                        [&] { claim_id(*store, "w1", kT0); },
                        [&] { seen_by_reader = reader->status_counts(); },
                    });
  ASSERT_TRUE(seen_by_reader.has_value());
  EXPECT_EQ(seen_by_reader->pending, 1);
  EXPECT_EQ(seen_by_reader->running, 0);
  EXPECT_EQ(reader->status_counts()->running, 1);
}

// ---------------------------------------------------------------------------------------------
// Files, connections, access.

TEST_F(SqliteStoreTest, DurableAcrossReopen) {
  const Workflow w = rich_workflow();
  {
    auto store = open();
    store->replace_workflow(w, ReplaceMode::kAlways);
  }
  {
    auto store = open();
    EXPECT_EQ(*store->load(), w);
    // zeta is completed, alpha running, mid failed, beta waits for alpha: omega is next.
    EXPECT_EQ(claim_id(*store, "w9", kT0 + 5), "omega");
  }
  auto store = open();
  const Task omega = find(store->load(), "omega");
  EXPECT_EQ(omega.status, TaskStatus::kRunning);
  EXPECT_EQ(omega.claimed_by, "w9");
  EXPECT_EQ(omega.started_at, kT0 + 5);
  ClaimResult again = store->claim("w9", kT0 + 6);
  ASSERT_TRUE(again.task);
  EXPECT_TRUE(again.is_retry);
  EXPECT_EQ(again.task->id, "omega");
  // The imported running task keeps its owner across the reopen too.
  ClaimResult w1 = store->claim("w1", kT0 + 7);
  ASSERT_TRUE(w1.task);
  EXPECT_EQ(w1.task->id, "alpha");
  EXPECT_TRUE(w1.is_retry);
}

// What a kill -9 leaves: the database and its log as they are while the writer has them open.
void copy_as_after_a_crash(const fs::path& db, const fs::path& to) {
  fs::copy_file(db, to);
  fs::copy_file(db.string() + "-wal", to.string() + "-wal");
}

TEST_F(SqliteStoreTest, PreallocatedLogKeepsCommitsBeforeAndAfterThroughACrash) {
  auto store = open();
  store->replace_workflow(workflow({task("a"), task("b")}), ReplaceMode::kAlways);
  const auto logged = fs::file_size(db_.string() + "-wal");
  store->preallocate_log();
  EXPECT_GE(fs::file_size(db_.string() + "-wal"), 4u << 20);  // 1,000 frames of 4 KiB and more
  EXPECT_GT(fs::file_size(db_.string() + "-wal"), logged);
  EXPECT_EQ(claim_id(*store, "w1", kT0), "a");  // committed into the zeroed part

  const fs::path copy = dir_ / "crashed.db";
  copy_as_after_a_crash(db_, copy);
  SqliteStore recovered(copy, SqliteStore::Access::kReadWrite);
  const Task a = find(recovered.load(), "a");
  EXPECT_EQ(a.status, TaskStatus::kRunning);
  EXPECT_EQ(a.claimed_by, "w1");
  EXPECT_EQ(find(recovered.load(), "b").status, TaskStatus::kPending);
  EXPECT_EQ(claim_id(recovered, "w2", kT0), "b");
}

TEST_F(SqliteStoreTest, PreallocatingALogThatIsLongEnoughWritesNothing) {
  auto store = open();
  store->preallocate_log();
  const auto size = fs::file_size(db_.string() + "-wal");
  const auto modified = fs::last_write_time(db_.string() + "-wal");
  store->preallocate_log();
  EXPECT_EQ(fs::file_size(db_.string() + "-wal"), size);
  EXPECT_EQ(fs::last_write_time(db_.string() + "-wal"), modified);
  // A reader opened on a log that is all zeros finds the database as it is.
  auto reader = open(SqliteStore::Access::kReadOnly);
  EXPECT_EQ(reader->load(), std::nullopt);
}

TEST_F(SqliteStoreTest, TwoStoresOnOneFileSeeEachOthersWrites) {
  auto daemon = open();
  auto reader = open();
  EXPECT_EQ(reader->load(), std::nullopt);
  daemon->replace_workflow(workflow({task("a"), task("b"), task("c", {"a"})}),
                           ReplaceMode::kAlways);
  ASSERT_TRUE(reader->load().has_value());
  EXPECT_EQ(reader->load()->tasks.size(), 3u);

  EXPECT_EQ(claim_id(*daemon, "w1", kT0), "a");
  EXPECT_EQ(find(reader->load(), "a").claimed_by, "w1");
  // The other connection claims next and must not get "a" again.
  EXPECT_EQ(claim_id(*reader, "w2", kT0), "b");
  EXPECT_EQ(claim_id(*daemon, "w3", kT0), "");
  EXPECT_EQ(find(daemon->load(), "b").claimed_by, "w2");

  reader->complete("a", "w1", kT0 + 1, "h1");
  EXPECT_EQ(daemon->completion_mark("w1")->commit, "h1");
  EXPECT_EQ(claim_id(*daemon, "w3", kT0 + 2), "c");
  EXPECT_EQ(reader->status_counts()->running, 2);
  EXPECT_EQ(reader->status_counts()->completed, 1);
  daemon->complete("b", "w2", kT0 + 3, std::nullopt);
  EXPECT_EQ(reader->status_counts()->completed, 2);
  reader->complete("c", "w3", kT0 + 4, std::nullopt);
  EXPECT_FALSE(daemon->status_counts()->unfinished());
}

TEST_F(SqliteStoreTest, ReaderSeesWritesAfterItsOwnClaim) {
  // Each store leaves prepared statements behind after a claim; they must not pin an old
  // snapshot of the database.
  auto a = open();
  auto b = open();
  a->replace_workflow(workflow({task("x"), task("y"), task("z")}), ReplaceMode::kAlways);
  EXPECT_EQ(claim_id(*a, "wa", kT0), "x");
  EXPECT_EQ(claim_id(*b, "wb", kT0), "y");
  EXPECT_EQ(find(a->load(), "y").claimed_by, "wb");
  EXPECT_EQ(a->status_counts()->running, 2);
  a->complete("x", "wa", kT0 + 1, std::nullopt);
  EXPECT_EQ(find(b->load(), "x").status, TaskStatus::kCompleted);
  EXPECT_EQ(claim_id(*a, "wa", kT0 + 2), "z");
  EXPECT_EQ(claim_id(*b, "wc", kT0 + 2), "");
}

TEST_F(SqliteStoreTest, ReadOnlyStoreReadsButCannotWrite) {
  {
    auto store = open();
    store->replace_workflow(workflow({task("a"), task("b")}), ReplaceMode::kAlways);
    ASSERT_EQ(claim_id(*store, "w1", kT0), "a");
  }
  auto ro = open(SqliteStore::Access::kReadOnly);
  const Workflow before = *ro->load();
  EXPECT_EQ(before.tasks.size(), 2u);
  EXPECT_EQ(ro->status_counts()->running, 1);
  // Every failure is a harness::Error, never SQLite's own exception type.
  EXPECT_THAT(error_of(Error::Kind::kIo,
                       [&] { ro->replace_workflow(workflow({task("x")}), ReplaceMode::kAlways); }),
              HasSubstr("read-only"));
  error_of(Error::Kind::kIo, [&] { ro->claim("w2", kT0); });
  error_of(Error::Kind::kIo, [&] { ro->complete("a", "w1", kT0 + 1, "h"); });
  error_of(Error::Kind::kIo, [&] { ro->set_meta("k", "v"); });
  EXPECT_EQ(*ro->load(), before);
  EXPECT_EQ(*open()->load(), before);
  EXPECT_EQ(ro->completion_mark("w1"), std::nullopt);
}

TEST_F(SqliteStoreTest, ReadOnlyStoreFollowsTheWriter) {
  auto writer = open();
  auto ro = open(SqliteStore::Access::kReadOnly);
  EXPECT_EQ(ro->load(), std::nullopt);
  writer->replace_workflow(workflow({task("a")}), ReplaceMode::kAlways);
  ASSERT_TRUE(ro->load().has_value());
  EXPECT_EQ(ro->status_counts()->pending, 1);
  ASSERT_EQ(claim_id(*writer, "w", kT0), "a");
  EXPECT_EQ(ro->status_counts()->running, 1);
}

TEST_F(SqliteStoreTest, ReadOnlyOpenOfMissingFileFails) {
  EXPECT_THROW(open(SqliteStore::Access::kReadOnly), Error);
  EXPECT_FALSE(fs::exists(db_));
}

TEST_F(SqliteStoreTest, OpenInMissingDirectoryFailsWithIo) {
  db_ = dir_ / "missing" / "state.db";
  error_of(Error::Kind::kIo, [&] { open(); });
}

TEST_F(SqliteStoreTest, NotADatabaseIsCorruption) {
  {
    std::ofstream out(db_, std::ios::binary);
    for (int i = 0; i < 200; ++i) out << "this is not a database, just some text. ";
  }
  std::string m = error_of(Error::Kind::kCorruption, [&] { open(); });
  EXPECT_THAT(m, HasSubstr(db_.string()));
  error_of(Error::Kind::kCorruption, [&] { open(SqliteStore::Access::kReadOnly); });
}

TEST_F(SqliteStoreTest, ForeignSqliteDatabaseIsRefusedAndLeftAlone) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE photos(id INTEGER)", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  EXPECT_THAT(error_of(Error::Kind::kCorruption, [&] { open(); }),
              HasSubstr("not a harness state database"));
  error_of(Error::Kind::kCorruption, [&] { open(SqliteStore::Access::kReadOnly); });
  ASSERT_EQ(sqlite3_open(db_.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* count = nullptr;
  sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master", -1, &count, nullptr);
  ASSERT_EQ(sqlite3_step(count), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(count, 0), 1);  // still only the photos table
  sqlite3_finalize(count);
  sqlite3_close(db);
}

TEST_F(SqliteStoreTest, UnknownSchemaVersionIsCorruption) {
  open()->set_meta("schema_version", "999");
  EXPECT_THAT(error_of(Error::Kind::kCorruption, [&] { open(); }), HasSubstr("schema version"));
}

// ---------------------------------------------------------------------------------------------
// Claim and complete are indexed: their queries use the partial indexes, not a table scan.

TEST_F(SqliteStoreTest, ReadyQueriesUseThePartialIndexesInClaimOrder) {
  open()->replace_workflow(workflow({task("a"), task("b", {"a"})}), ReplaceMode::kAlways);
  // A worker without a role: the first task with and the first without one.
  std::string plan = query_plan(
      "SELECT seq FROM tasks WHERE status = 'pending' AND unmet = 0 AND retry_at IS NULL AND "
      "(role IS NOT NULL) = ?1 ORDER BY priority DESC, seq LIMIT 1");
  EXPECT_THAT(plan, HasSubstr("tasks_ready"));
  EXPECT_THAT(plan, Not(HasSubstr("TEMP B-TREE")));
  // A worker of a role.
  plan = query_plan(
      "SELECT seq FROM tasks WHERE status = 'pending' AND unmet = 0 AND retry_at IS NULL AND "
      "role IS NOT NULL AND role = ?1 ORDER BY priority DESC, seq LIMIT 1");
  EXPECT_THAT(plan, HasSubstr("tasks_ready_role"));
  EXPECT_THAT(plan, Not(HasSubstr("TEMP B-TREE")));
  // Backoffs that ended.
  plan = query_plan(
      "SELECT 1 FROM tasks WHERE status = 'pending' AND retry_at IS NOT NULL AND retry_at <= ?1 "
      "LIMIT 1");
  EXPECT_THAT(plan, HasSubstr("tasks_backoff"));
}

TEST_F(SqliteStoreTest, OwnerQueryUsesTheOwnerIndex) {
  open()->replace_workflow(workflow({task("a")}), ReplaceMode::kAlways);
  std::string plan = query_plan(
      "SELECT seq FROM tasks WHERE claimed_by = ?1 AND status = 'running' ORDER BY seq LIMIT 1");
  EXPECT_THAT(plan, HasSubstr("tasks_owner"));
  EXPECT_THAT(plan, Not(HasSubstr("SCAN")));
  EXPECT_THAT(plan, Not(HasSubstr("TEMP B-TREE")));
}

TEST_F(SqliteStoreTest, LeaseQueryReadsOnlyTheRunningTasks) {
  open()->replace_workflow(workflow({task("a")}), ReplaceMode::kAlways);
  std::string plan = query_plan(
      "SELECT seq FROM tasks INDEXED BY tasks_owner WHERE status = 'running' AND "
      "lease_expires < ?1 AND unmet = 0 ORDER BY lease_expires LIMIT 1");
  EXPECT_THAT(plan, HasSubstr("USING INDEX tasks_owner"));
}

TEST_F(SqliteStoreTest, CompleteQueriesAreIndexed) {
  open()->replace_workflow(workflow({task("a"), task("b", {"a"})}), ReplaceMode::kAlways);
  EXPECT_THAT(query_plan("SELECT seq, status, claimed_by FROM tasks WHERE id = ?1"),
              Not(HasSubstr("SCAN")));
  std::string release = query_plan(
      "UPDATE tasks SET unmet = unmet - 1 WHERE seq IN (SELECT task FROM dependents WHERE dep = "
      "?1)");
  EXPECT_THAT(release, Not(HasSubstr("SCAN")));
}

TEST_F(SqliteStoreTest, SchemaHasTheIndexes) {
  open();
  const std::set<std::string> names = index_names();
  EXPECT_TRUE(names.count("tasks_ready"));
  EXPECT_TRUE(names.count("tasks_owner"));
  EXPECT_FALSE(names.count("tasks_lease"));
}

TEST_F(SqliteStoreTest, OpeningForWritingDropsTheLeaseIndexOfEarlierBuilds) {
  // As an earlier build left it: schema version 1, with the index.
  exec_sql_creating("PRAGMA journal_mode = WAL");
  exec_sql(std::string(schema_migrations()[0].statements));
  exec_sql(
      "INSERT INTO meta(key, value) VALUES('schema_version', '1'), ('workflow', '1');"
      "INSERT INTO tasks(seq, id, description, status, dependencies, timeout_seconds, unmet) "
      "VALUES(1, 'a', '', 'pending', '[]', 600, 0)");
  open(SqliteStore::Access::kReadOnly);
  EXPECT_TRUE(index_names().count("tasks_lease"));  // a reader changes nothing

  auto store = open();
  EXPECT_FALSE(index_names().count("tasks_lease"));
  EXPECT_EQ(claim_id(*store, "A", kT0), "a");
  EXPECT_EQ(claim_id(*store, "B", kT0 + 7200 * kSecond), "a");  // reclaimed: a's lease expired
}

// ---------------------------------------------------------------------------------------------
// Schema versions.

TEST_F(SqliteStoreTest, NewDatabaseHasTheCurrentSchemaVersion) {
  EXPECT_EQ(open()->meta("schema_version"), std::to_string(current_schema_version()));
  int expected = 1;
  for (const SchemaMigration& m : schema_migrations()) EXPECT_EQ(m.version, expected++);
}

// A database at each earlier version, built from that version's own statements with a workflow
// in it, is brought to the current schema by a writer, keeping its workflow; a reader opens it
// as it is.
TEST_F(SqliteStoreTest, DatabaseOfEachEarlierVersionIsMigratedWhenOpenedForWriting) {
  const fs::path fresh = dir_ / "fresh.db";
  SqliteStore(fresh, SqliteStore::Access::kReadWrite);
  for (const SchemaMigration& old : schema_migrations()) {
    if (old.version == current_schema_version()) break;
    SCOPED_TRACE("from version " + std::to_string(old.version));
    fs::remove(db_);
    exec_sql_creating("PRAGMA journal_mode = WAL");
    for (const SchemaMigration& m : schema_migrations())
      if (m.version <= old.version) exec_sql(std::string(m.statements));
    exec_sql("INSERT INTO meta(key, value) VALUES('schema_version', '" +
             std::to_string(old.version) +
             "'), ('workflow', '1');"
             "INSERT INTO tasks(seq, id, description, status, dependencies, timeout_seconds, "
             "unmet) VALUES(1, 'a', 'do a', 'pending', '[]', 60, 0)");

    EXPECT_EQ(open(SqliteStore::Access::kReadOnly)->load()->tasks.size(), 1u);
    EXPECT_EQ(open(SqliteStore::Access::kReadOnly)->meta("schema_version"),
              std::to_string(old.version));  // a reader changes nothing

    auto store = open();
    EXPECT_EQ(store->meta("schema_version"), std::to_string(current_schema_version()));
    EXPECT_EQ(schema_of(db_), schema_of(fresh));
    EXPECT_EQ(claim_id(*store, "w", kT0), "a");
  }
}

// ---------------------------------------------------------------------------------------------
// What cannot be read back is an Error, never a parser's exception.

TEST_F(SqliteStoreTest, DamagedJsonColumnIsCorruption) {
  open()->replace_workflow(workflow({task("a"), task("b")}), ReplaceMode::kAlways);
  exec_sql("UPDATE tasks SET dependencies = '[\"x\", ' WHERE id = 'b'");
  auto store = open();
  EXPECT_THAT(error_of(Error::Kind::kCorruption, [&] { store->load(); }),
              AllOf(HasSubstr("damaged"), HasSubstr(db_.string()), HasSubstr("task b")));
  exec_sql("UPDATE tasks SET dependencies = '{\"not\": \"a list\"}' WHERE id = 'b'");
  error_of(Error::Kind::kCorruption, [&] { store->load(); });
  exec_sql("UPDATE tasks SET dependencies = '[]', command = '[1, 2]' WHERE id = 'b'");
  error_of(Error::Kind::kCorruption, [&] { store->load(); });
  EXPECT_EQ(claim_id(*store, "w", kT0), "a");  // a claim that reads only a is unharmed
}

TEST_F(SqliteStoreTest, DamagedStatusIsCorruption) {
  open()->replace_workflow(workflow({task("a")}), ReplaceMode::kAlways);
  exec_sql("UPDATE tasks SET status = 'sleeping' WHERE id = 'a'");
  auto store = open();
  error_of(Error::Kind::kCorruption, [&] { store->load(); });
  error_of(Error::Kind::kCorruption, [&] { store->status_counts(); });
  error_of(Error::Kind::kCorruption, [&] { store->complete("a", "w", kT0, std::nullopt); });
}

TEST_F(SqliteStoreTest, DamagedCompletionMarkIsCorruption) {
  auto store = open();
  store->set_meta("completion:w", "{\"task_id\": 7}");
  error_of(Error::Kind::kCorruption, [&] { store->completion_mark("w"); });
  store->set_meta("completion:w", "not json");
  error_of(Error::Kind::kCorruption, [&] { store->completion_mark("w"); });
}

TEST_F(SqliteStoreTest, TextThatIsNotUtf8IsRefusedAsInvalid) {
  auto store = open();
  store->replace_workflow(workflow({task("a"), task("b", {"a"})}), ReplaceMode::kAlways);
  Task bad = task("c");
  bad.command = std::vector<std::string>{"echo", "\xff"};
  error_of(Error::Kind::kInvalidArgument,
           [&] { store->replace_workflow(workflow({bad}), ReplaceMode::kAlways); });
  EXPECT_EQ(store->load()->tasks.size(), 2u);  // the previous workflow stays
  ASSERT_EQ(claim_id(*store, "w", kT0), "a");
  error_of(Error::Kind::kInvalidArgument,
           [&] { store->complete("a", "w", kT0, std::string("head\xfe")); });
  EXPECT_EQ(find(store->load(), "a").status, TaskStatus::kRunning);  // nothing was written
}

}  // namespace
}  // namespace harness
