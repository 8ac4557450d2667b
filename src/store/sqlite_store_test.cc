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
#include "testing/error_of.h"
#include "testing/store_test_tasks.h"

namespace harness {
namespace {

using test_support::error_of;

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr Micros kT0 = 1'700'000'000'000'000;
constexpr Micros kSecond = kMicrosPerSecond;

using test_support::find;
using test_support::rethrow_message;
using test_support::task;
using test_support::workflow;

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

}  // namespace
}  // namespace harness
