#include "store/pg_schema.h"

#include <iterator>
#include <string>

namespace harness {

namespace {

struct PgMigration {
  int version;
  const char* statements;
};

// The ready and backoff indexes mirror SQLite's (store/sqlite_schema.cc, version 3), led by the
// plan. harness_tasks_lease serves the reclaim of expired leases: unlike SQLite's single
// writer, several daemons' claims look for one at once, and each must skip the rows the others
// hold (FOR UPDATE SKIP LOCKED) in lease order.
constexpr PgMigration kMigrations[] = {
    {1, R"sql(
CREATE TABLE harness_plans (
  id bigserial PRIMARY KEY,
  name text NOT NULL UNIQUE,
  workflow boolean NOT NULL DEFAULT false,
  goal text
);
CREATE TABLE harness_tasks (
  plan bigint NOT NULL REFERENCES harness_plans(id) ON DELETE CASCADE,
  seq bigint NOT NULL,
  id text NOT NULL,
  description text NOT NULL,
  status text NOT NULL,
  dependencies text NOT NULL,
  started_at bigint,
  completed_at bigint,
  claimed_by text,
  timeout_seconds bigint NOT NULL,
  instructions text,
  command text,
  unmet bigint NOT NULL,
  lease_expires bigint,
  priority bigint NOT NULL DEFAULT 0,
  role text,
  max_attempts bigint NOT NULL DEFAULT 3,
  retry_backoff bigint NOT NULL DEFAULT 5,
  attempts bigint NOT NULL DEFAULT 0,
  last_error text,
  retry_at bigint,
  packet text,
  lease bigint NOT NULL,
  PRIMARY KEY (plan, seq),
  UNIQUE (plan, id)
);
CREATE INDEX harness_tasks_ready ON harness_tasks (plan, (role IS NOT NULL), priority DESC, seq)
  WHERE status = 'pending' AND unmet = 0 AND retry_at IS NULL;
CREATE INDEX harness_tasks_ready_role ON harness_tasks (plan, role, priority DESC, seq)
  WHERE status = 'pending' AND unmet = 0 AND retry_at IS NULL AND role IS NOT NULL;
CREATE INDEX harness_tasks_owner ON harness_tasks (plan, claimed_by) WHERE status = 'running';
CREATE INDEX harness_tasks_lease ON harness_tasks (plan, lease_expires) WHERE status = 'running';
CREATE INDEX harness_tasks_backoff ON harness_tasks (plan, retry_at)
  WHERE status = 'pending' AND retry_at IS NOT NULL;
CREATE TABLE harness_dependents (
  plan bigint NOT NULL REFERENCES harness_plans(id) ON DELETE CASCADE,
  dep bigint NOT NULL,
  task bigint NOT NULL,
  PRIMARY KEY (plan, dep, task)
);
CREATE TABLE harness_completion_marks (
  plan bigint NOT NULL REFERENCES harness_plans(id) ON DELETE CASCADE,
  worker text NOT NULL,
  task_id text NOT NULL,
  commit text NOT NULL,
  PRIMARY KEY (plan, worker)
);
CREATE TABLE harness_events (
  id bigserial PRIMARY KEY,
  plan bigint NOT NULL REFERENCES harness_plans(id) ON DELETE CASCADE,
  daemon text NOT NULL,
  event text NOT NULL
);
CREATE INDEX harness_events_plan ON harness_events (plan, id);
)sql"},
    // The worktree each claim came from (a worktree per agent, DESIGN §8c), kept with the holder.
    {2, "ALTER TABLE harness_tasks ADD COLUMN worktree text;"},
};

// Any constant of our own: the lock only orders harness migrations among themselves.
constexpr const char* kMigrationLock = "SELECT pg_advisory_xact_lock(8317625514)";

std::optional<int> recorded_version(PgConnection& c) {
  PgResult table = c.exec("SELECT to_regclass('harness_schema') IS NOT NULL");
  if (table.text(0, 0) != "t") return std::nullopt;
  PgResult version = c.exec("SELECT max(version) FROM harness_schema");
  return version.optional_int64(0, 0);
}

}  // namespace

int current_pg_schema_version() { return kMigrations[std::size(kMigrations) - 1].version; }

void migrate_pg_schema(PgConnection& c) {
  c.exec("BEGIN");
  try {
    c.exec(kMigrationLock);
    c.exec(
        "CREATE TABLE IF NOT EXISTS harness_schema (version int PRIMARY KEY, applied_at "
        "timestamptz NOT NULL DEFAULT now())");
    const int from = recorded_version(c).value_or(0);
    if (from > current_pg_schema_version())
      throw Error::corruption("the PostgreSQL database at " + c.where() + " has harness schema " +
                              "version " + std::to_string(from) + ", newer than this build's " +
                              std::to_string(current_pg_schema_version()) +
                              ": run a newer harness");
    for (const PgMigration& m : kMigrations) {
      if (m.version <= from) continue;
      c.exec(m.statements);
      c.run("INSERT INTO harness_schema(version) VALUES($1)", {m.version});
    }
    c.exec("COMMIT");
  } catch (...) {
    try {
      c.exec("ROLLBACK");
    } catch (const Error&) {
      // The connection is gone, and the transaction with it.
    }
    throw;
  }
}

bool has_current_pg_schema(PgConnection& c) {
  const std::optional<int> version = recorded_version(c);
  if (!version) return false;
  if (version == current_pg_schema_version()) return true;
  throw Error::corruption("the PostgreSQL database at " + c.where() +
                          " has harness schema version " + std::to_string(*version) +
                          ", not this build's " + std::to_string(current_pg_schema_version()) +
                          "; a daemon of this build (harness daemon --store URL) migrates it");
}

}  // namespace harness
