// What only the PostgreSQL engine has (its contract on both engines is store_semantics_test.cc
// and store_lease_test.cc): its queries go through the indexes, a claim skips what another
// daemon's transaction holds instead of waiting, batches of two daemons that need each other's
// rows do not deadlock, a lost connection is an error and then made again, and the schema and
// URL handling.
#include "store/pg_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <string>

#include "store/pg_connection.h"
#include "store/pg_schema.h"
#include "testing/error_of.h"
#include "testing/pg_test_cluster.h"

namespace harness {
namespace {

using test_support::error_of;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr Micros kT0 = 1'700'000'000'000'000;

Task task(std::string id, std::vector<std::string> deps = {}) {
  Task t;
  t.id = std::move(id);
  t.dependencies = std::move(deps);
  t.timeout_seconds = 60;
  return t;
}

class PgStoreTest : public ::testing::Test {
 protected:
  PgTarget target{test_support::test_pg_url(), test_support::unique_plan_name()};
  PgStore store{target, PgStore::Access::kReadWrite};
  PgConnection admin{target.url};

  void plan(std::vector<Task> tasks) {
    store.replace_workflow(Workflow{std::move(tasks)}, ReplaceMode::kAlways);
  }

  // EXPLAIN of `sql` for this test's plan, `$1` being the plan's id.
  std::string query_plan(const std::string& sql) {
    const std::string id(
        admin.run("SELECT id FROM harness_plans WHERE name = $1", {target.plan}).text(0, 0));
    std::string with_id = sql;
    for (std::size_t at; (at = with_id.find("$1")) != std::string::npos;)
      with_id.replace(at, 2, id);
    PgResult r = admin.exec("EXPLAIN " + with_id);
    std::string text;
    for (int i = 0; i < r.rows(); ++i) text += std::string(r.text(i, 0)) + "\n";
    return text;
  }
};

TEST_F(PgStoreTest, ClaimAndCompleteQueriesUseTheIndexesOnALargePlan) {
  std::vector<Task> tasks;
  for (int i = 0; i < 20000; ++i)
    tasks.push_back(i % 2 ? task("t" + std::to_string(i), {"t" + std::to_string(i - 1)})
                          : task("t" + std::to_string(i)));
  plan(tasks);
  admin.exec("ANALYZE harness_tasks; ANALYZE harness_dependents");
  const std::string ready = query_plan(
      "SELECT seq FROM harness_tasks WHERE plan = $1 AND status = 'pending' AND unmet = 0 AND "
      "retry_at IS NULL AND (role IS NOT NULL) = false ORDER BY plan, (role IS NOT NULL), "
      "priority DESC, seq LIMIT 1 FOR UPDATE SKIP LOCKED");
  EXPECT_THAT(ready, HasSubstr("harness_tasks_ready"));
  EXPECT_THAT(ready, Not(HasSubstr("Seq Scan")));
  EXPECT_THAT(ready, Not(HasSubstr("Sort")));
  const std::string expired = query_plan(
      "SELECT seq FROM harness_tasks WHERE plan = $1 AND status = 'running' AND lease_expires < "
      "0 AND unmet = 0 ORDER BY plan, lease_expires LIMIT 1 FOR UPDATE SKIP LOCKED");
  EXPECT_THAT(expired, HasSubstr("harness_tasks_lease"));
  const std::string by_id =
      query_plan("SELECT seq FROM harness_tasks WHERE plan = $1 AND id = 't5' FOR UPDATE");
  EXPECT_THAT(by_id, Not(HasSubstr("Seq Scan")));
  const std::string dependents =
      query_plan("SELECT task FROM harness_dependents WHERE plan = $1 AND dep = 5");
  EXPECT_THAT(dependents, Not(HasSubstr("Seq Scan")));
}

TEST_F(PgStoreTest, AClaimSkipsATaskAnotherTransactionHoldsInsteadOfWaiting) {
  plan({task("a"), task("b")});
  PgStore other(target, PgStore::Access::kReadWrite);
  other.begin_batch();
  ASSERT_EQ(other.run_in_batch([](Store& s) { EXPECT_EQ(s.claim("w1", kT0).task->id, "a"); }),
            nullptr);
  // "a" is locked by the open batch: the claim takes "b" at once.
  EXPECT_EQ(store.claim("w2", kT0).task->id, "b");
  EXPECT_EQ(other.commit_batch(), nullptr);
  EXPECT_FALSE(store.claim("w3", kT0).task);
}

TEST_F(PgStoreTest, BatchesOfTwoDaemonsThatNeedEachOthersRowsBothCommit) {
  // c needs a and b; d needs e and f. Each batch completes one dependency of each: without the
  // fresh-transaction retry, the second completion of each batch would wait for the other.
  plan({task("a"), task("b"), task("e"), task("f"), task("c", {"a", "b"}), task("d", {"e", "f"})});
  PgStore other(target, PgStore::Access::kReadWrite);
  for (auto [worker, id] : {std::pair{"w1", "a"}, {"w2", "b"}, {"w3", "e"}, {"w4", "f"}})
    ASSERT_EQ(store.claim(worker, kT0, {}).task->id, id);
  store.begin_batch();
  other.begin_batch();
  EXPECT_EQ(store.run_in_batch([](Store& s) { s.complete("a", "w1", kT0, std::nullopt); }),
            nullptr);
  EXPECT_EQ(other.run_in_batch([](Store& s) { s.complete("f", "w4", kT0, std::nullopt); }),
            nullptr);
  // Each now needs a row the other's batch holds; each daemon commits on its own.
  const auto finish = [](PgStore& s, const char* id, const char* worker) {
    return std::async(std::launch::async, [&s, id, worker] {
      std::exception_ptr error =
          s.run_in_batch([&](Store& store) { store.complete(id, worker, kT0, std::nullopt); });
      std::exception_ptr committed = s.commit_batch();
      return error ? error : committed;
    });
  };
  auto first = finish(store, "e", "w3");
  auto second = finish(other, "b", "w2");
  EXPECT_EQ(first.get(), nullptr);
  EXPECT_EQ(second.get(), nullptr);
  EXPECT_EQ(store.status_counts()->ready, 2);  // c and d
}

TEST_F(PgStoreTest, ALostConnectionIsAnErrorAndTheNextCallConnectsAgain) {
  // A connection named for this test alone: other tests share the server.
  const std::string name = target.plan;
  PgStore store({target.url + "&application_name=" + name, target.plan},
                PgStore::Access::kReadWrite);
  plan({task("a"), task("b")});
  ASSERT_TRUE(store.claim("w1", kT0).task);
  EXPECT_EQ(admin
                .run("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
                     "application_name = $1",
                     {name})
                .text(0, 0),
            "1");
  // The first call after the loss either reconnects (a transaction that had not started) or
  // reports it; it never reports success for what it did not do.
  ClaimResult next;
  try {
    next = store.claim("w2", kT0);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kIo) << e.what();
    next = store.claim("w2", kT0);
  }
  ASSERT_TRUE(next.task);
  EXPECT_EQ(next.task->id, "b");
}

TEST_F(PgStoreTest, AReadOnlyStoreOfAPlanNobodyMadeHasNoWorkflowAndCannotWrite) {
  PgStore reader({target.url, target.plan + "-none"}, PgStore::Access::kReadOnly);
  EXPECT_EQ(reader.load(), std::nullopt);
  EXPECT_EQ(reader.status_counts(), std::nullopt);
  error_of(Error::Kind::kInvalidArgument, [&] { reader.claim("w", kT0); });
}

TEST_F(PgStoreTest, PlansInOneDatabaseAreApart) {
  plan({task("a")});
  PgStore other({target.url, target.plan + "-other"}, PgStore::Access::kReadWrite);
  other.replace_workflow(Workflow{{task("x")}}, ReplaceMode::kAlways);
  EXPECT_EQ(store.claim("w", kT0).task->id, "a");
  EXPECT_EQ(other.claim("w", kT0).task->id, "x");
  EXPECT_EQ(store.load()->tasks.size(), 1u);
}

TEST_F(PgStoreTest, AnUnreachableServerIsAnIoErrorNamingIt) {
  const std::string message = error_of(Error::Kind::kIo, [] {
    PgStore({"postgresql:///harness?host=/nonexistent&user=harness", "p"},
            PgStore::Access::kReadWrite);
  });
  EXPECT_THAT(message, HasSubstr("cannot connect to PostgreSQL at postgresql:///harness"));
}

TEST(PgConnectionTest, PasswordsAreNeverShown) {
  EXPECT_EQ(redact_password("postgresql://me:secret@db.example/harness"),
            "postgresql://me:***@db.example/harness");
  EXPECT_EQ(redact_password("postgresql://db/h?user=me&password=secret&sslmode=require"),
            "postgresql://db/h?user=me&password=***&sslmode=require");
  EXPECT_EQ(redact_password("host=db password=secret dbname=h"), "host=db password=*** dbname=h");
  EXPECT_EQ(redact_password("postgresql:///harness?host=/tmp"), "postgresql:///harness?host=/tmp");
}

TEST(PgSchemaTest, ADatabaseOfANewerSchemaIsRefused) {
  // A database of its own: the shared one's schema must stay as it is.
  PgConnection admin(test_support::test_pg_url());
  const std::string db = "harness_newer_" + std::to_string(::getpid());
  admin.exec("DROP DATABASE IF EXISTS " + db);
  admin.exec("CREATE DATABASE " + db);
  {
    PgConnection c(test_support::test_pg_url() + "&dbname=" + db);
    migrate_pg_schema(c);
    c.exec("INSERT INTO harness_schema(version) VALUES(999)");
    const std::string message = error_of(Error::Kind::kCorruption, [&] { migrate_pg_schema(c); });
    EXPECT_THAT(message, HasSubstr("version 999"));
    EXPECT_THAT(message, HasSubstr("run a newer harness"));
  }
  admin.exec("DROP DATABASE " + db);
}

}  // namespace
}  // namespace harness
