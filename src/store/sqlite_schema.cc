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
