// The SQLite engine's schema as the list of steps that built it: version k is what steps 1..k
// make of an empty file. A database records its version (meta "schema_version"); opening one
// for writing applies the steps it lacks (SqliteStore), so a database of an earlier build keeps
// its workflow. A change to the schema is a new step at the end; steps already released never
// change, since databases in the field were built by them.
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace SQLite {
class Database;
}

namespace harness {

struct SchemaMigration {
  int version;                   // what the step brings a database to
  std::string_view description;  // what it changes, and why
  std::string_view statements;   // SQL, run in order
};

// Every step, oldest first; versions count up from 1.
std::span<const SchemaMigration> schema_migrations();
// The version this build writes: the last step's.
int current_schema_version();

// The version `db` records, or nullopt when it records none that is a number from 1 to
// current_schema_version(). Reads only.
std::optional<int> stored_schema_version(SQLite::Database& db);

// Brings `db`, an empty database or a harness database of an earlier version, to
// current_schema_version(): in one IMMEDIATE transaction it applies the steps after the version
// the database records (all of them to one without tables) and records the new version. Another
// connection migrating the same file meanwhile is waited for, and its work is not redone.
// Throws SQLite::Exception, or Error::corruption when the database records a version this build
// does not know (a newer build migrated it meanwhile); nothing changes then.
void migrate_schema(SQLite::Database& db);

// Makes a database of an earlier `version`, opened read-only, read like the current schema: a
// temporary view shadows each table the later versions changed, with their defaults for the
// columns it lacks (a newer CLI reads the state of a daemon that has not migrated it yet).
void read_as_current_schema(SQLite::Database& db, int version);

}  // namespace harness
