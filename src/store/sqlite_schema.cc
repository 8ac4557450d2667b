#include "store/sqlite_schema.h"

#include <SQLiteCpp/SQLiteCpp.h>

#include <string>

#include "core/error.h"

namespace harness {

namespace {

constexpr SchemaMigration kMigrations[] = {
    {1,
     "the tables: meta, the tasks in plan order, and who depends on whom; the ready tasks, "
     "the running tasks by owner and the running tasks by lease expiry as partial indexes",
     R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tasks(
  seq INTEGER PRIMARY KEY,            -- plan order
  id TEXT NOT NULL UNIQUE,
  description TEXT NOT NULL,
  status TEXT NOT NULL,
  dependencies TEXT NOT NULL,         -- JSON list, as given
  started_at INTEGER,                 -- microseconds since the epoch, UTC
  completed_at INTEGER,
  claimed_by TEXT,
  timeout_seconds INTEGER NOT NULL,
  instructions TEXT,
  command TEXT,                       -- JSON list or NULL
  unmet INTEGER NOT NULL,             -- dependencies not yet completed
  lease_expires INTEGER               -- started_at + timeout while running
);
CREATE TABLE IF NOT EXISTS dependents(dep INTEGER NOT NULL, task INTEGER NOT NULL,
                                      PRIMARY KEY(dep, task)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tasks_ready ON tasks(seq) WHERE status = 'pending' AND unmet = 0;
CREATE INDEX IF NOT EXISTS tasks_owner ON tasks(claimed_by) WHERE status = 'running';
CREATE INDEX IF NOT EXISTS tasks_lease ON tasks(lease_expires) WHERE status = 'running';
)sql"},
    {2,
     "no index on lease expiry: the reclaim query reads the running tasks through tasks_owner, "
     "which holds them all (about one per worker), and every claim and complete is spared the "
     "upkeep of a third index",
     "DROP INDEX IF EXISTS tasks_lease;"},
    {3,
     "leases that match real work (DESIGN §2b): priority and role, attempts with a backoff, "
     "the lease token, the task packet; the ready index orders by priority and keeps the tasks "
     "of a role apart, backed-off tasks wait in an index of their own",
     R"sql(
ALTER TABLE tasks ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN role TEXT;
ALTER TABLE tasks ADD COLUMN max_attempts INTEGER NOT NULL DEFAULT 3;
ALTER TABLE tasks ADD COLUMN retry_backoff INTEGER NOT NULL DEFAULT 5;  -- seconds
ALTER TABLE tasks ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;       -- ended uncompleted
ALTER TABLE tasks ADD COLUMN last_error TEXT;
ALTER TABLE tasks ADD COLUMN retry_at INTEGER;      -- pending after a failure: not before this
ALTER TABLE tasks ADD COLUMN lease INTEGER NOT NULL DEFAULT 0;  -- token of the current holder
ALTER TABLE tasks ADD COLUMN packet TEXT;           -- JSON object of the task packet, or NULL
DROP INDEX IF EXISTS tasks_ready;
CREATE INDEX tasks_ready ON tasks((role IS NOT NULL), priority DESC, seq)
  WHERE status = 'pending' AND unmet = 0 AND retry_at IS NULL;
CREATE INDEX tasks_ready_role ON tasks(role, priority DESC, seq)
  WHERE status = 'pending' AND unmet = 0 AND retry_at IS NULL AND role IS NOT NULL;
CREATE INDEX tasks_backoff ON tasks(retry_at) WHERE status = 'pending' AND retry_at IS NOT NULL;
)sql"},
    {4,
     "the worktree each claim came from (a worktree per agent, DESIGN §8c), kept with the holder",
     "ALTER TABLE tasks ADD COLUMN worktree TEXT;"},
};

// The version recorded in `db`, as text, or nullopt when it has no meta table or no version.
std::optional<std::string> recorded_version(SQLite::Database& db) {
  if (!db.tableExists("meta")) return std::nullopt;
  SQLite::Statement version(db, "SELECT value FROM meta WHERE key = 'schema_version'");
  if (!version.executeStep()) return std::nullopt;
  return version.getColumn(0).getString();
}

std::optional<int> known_version(const std::optional<std::string>& text) {
  for (const SchemaMigration& m : kMigrations)
    if (text == std::to_string(m.version)) return m.version;
  return std::nullopt;
}

}  // namespace

std::span<const SchemaMigration> schema_migrations() { return kMigrations; }

int current_schema_version() { return kMigrations[std::size(kMigrations) - 1].version; }

std::optional<int> stored_schema_version(SQLite::Database& db) {
  return known_version(recorded_version(db));
}

void read_as_current_schema(SQLite::Database& db, int version) {
  if (version >= 4) return;
  // The columns of version 4 (and of version 3, for a database of version 2), as a task of the
  // earlier version reads.
  const std::string v3_columns =
      version >= 3 ? ""
                   : "0 AS priority, NULL AS role, 3 AS max_attempts, 5 AS retry_backoff, "
                     "0 AS attempts, NULL AS last_error, NULL AS retry_at, 0 AS lease, "
                     "NULL AS packet, ";
  db.exec("CREATE TEMP VIEW tasks AS SELECT *, " + v3_columns + "NULL AS worktree FROM main.tasks");
}

void migrate_schema(SQLite::Database& db) {
  SQLite::Transaction transaction(db, SQLite::TransactionBehavior::IMMEDIATE);
  // Read under the write lock: a connection that migrated first has moved the version on.
  const std::optional<std::string> recorded = recorded_version(db);
  const std::optional<int> known = known_version(recorded);
  if (recorded && !known)
    throw Error::corruption("the state database has an unknown schema version " + *recorded);
  const int from = known.value_or(0);
  for (const SchemaMigration& m : kMigrations)
    if (m.version > from) db.exec(std::string(m.statements));
  SQLite::Statement record(db,
                           "INSERT OR REPLACE INTO meta(key, value) VALUES('schema_version', ?1)");
  record.bind(1, std::to_string(current_schema_version()));
  record.exec();
  transaction.commit();
}

}  // namespace harness
