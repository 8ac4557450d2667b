// The PostgreSQL engine's schema (store/pg_store.h), as a list of versioned steps like SQLite's
// (store/sqlite_schema.h): add a migration, never edit one. Every table is prefixed `harness_`,
// so the schema can live in a database of the user's beside other tables; one database holds
// any number of plans, each task row keyed by its plan.
#pragma once

#include "store/pg_connection.h"

namespace harness {

// The version this build writes.
int current_pg_schema_version();

// Brings the database behind `connection` to the current version, each step in the one
// transaction that records it, under an advisory lock so that daemons starting together
// migrate once. Throws Error::corruption when the database records a version this build does
// not know (a newer harness migrated it), PgError when the server fails.
void migrate_pg_schema(PgConnection& connection);

// For a read-only store, which never migrates: false when the database holds no harness schema
// yet (no daemon has used it: no plan exists), true when it holds the current one. Throws
// Error::corruption for any other version.
bool has_current_pg_schema(PgConnection& connection);

}  // namespace harness
