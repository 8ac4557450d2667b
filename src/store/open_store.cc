#include "store/open_store.h"

#include <sstream>

#include "core/error.h"
#include "core/plan_file.h"
#include "store/pg_store.h"
#include "store/sqlite_store.h"
#include "store/state_dir.h"

namespace harness {

namespace {

namespace fs = std::filesystem;

// A path as a note shows it: quoted, as std::filesystem::path prints itself.
std::string quoted(const fs::path& path) {
  std::ostringstream out;
  out << path;
  return out.str();
}

// A database that vanished while the trajectory records earlier work was deleted or lost:
// starting afresh would silently drop a workflow.
void refuse_lost_database(const fs::path& worktree) {
  std::error_code ignored;
  if (fs::exists(state_db_path(worktree), ignored)) return;
  const auto log_size = fs::file_size(trajectory_path(worktree), ignored);
  if (ignored || log_size == 0) return;
  throw Error::corruption(state_db_path(worktree).string() + " is missing although " +
                          trajectory_path(worktree).string() +
                          " records earlier work. If you removed it on purpose, remove the "
                          "trajectory too.");
}

// Imports W/.claude/dev-workflow-state.json once, when no workflow exists yet. A file that
// cannot be imported is only a note: the daemon serves without it.
void import_legacy_state(SqliteStore& store, const fs::path& worktree,
                         std::vector<std::string>& notes) {
  const fs::path legacy = legacy_state_path(worktree);
  if (store.meta("legacy_imported") || store.status_counts() || !fs::exists(legacy)) return;
  try {
    store.replace_workflow(read_plan_file(legacy), ReplaceMode::kAlways);
    store.set_meta("legacy_imported", legacy.string());
    notes.push_back("imported legacy state from " + quoted(legacy));
  } catch (const Error& e) {
    notes.push_back("not importing legacy state " + quoted(legacy) + ": " + e.what());
  }
}

// Only a matter of speed: the daemon runs as well without it.
void preallocate_log(SqliteStore& store, std::vector<std::string>& notes) {
  try {
    store.preallocate_log();
  } catch (const Error& e) {
    notes.push_back(std::string("commits may be slower: ") + e.what());
  }
}

// `damage`, with what to do about it: never start empty over a damaged workflow.
Error with_recovery(const Error& damage, const fs::path& worktree) {
  const std::string db = state_db_path(worktree).string();
  const std::string trajectory = trajectory_path(worktree).string();
  return Error::corruption(
      std::string(damage.what()) + "\nNothing was changed. To recover, restore " + db +
      " from a backup, or salvage it with `sqlite3 " + db + " .recover | sqlite3 " + db +
      ".recovered` and move that into place, or start with no workflow by moving the database " +
      "and the trajectory aside (`mv " + db + " " + db + ".damaged && mv " + trajectory + " " +
      trajectory + ".old`).");
}

OpenedStore open_for_daemon(const fs::path& worktree) {
  OpenedStore opened;
  ensure_state_dir(worktree);
  std::unique_ptr<SqliteStore> store;
  try {
    refuse_lost_database(worktree);
    store = std::make_unique<SqliteStore>(state_db_path(worktree), SqliteStore::Access::kReadWrite);
    store->check_integrity();
    import_legacy_state(*store, worktree, opened.notes);
  } catch (const Error& e) {
    if (e.kind() != Error::Kind::kCorruption) throw;
    throw with_recovery(e, worktree);
  }
  preallocate_log(*store, opened.notes);
  opened.store = std::move(store);
  // A worktree whose daemons used PostgreSQL goes back to SQLite only when told to (--store
  // sqlite), and from then on its readers read SQLite too.
  if (fs::exists(state_dir(worktree) / "store.json")) record_store_location(worktree, {});
  return opened;
}

OpenedStore open_postgres(const StoreConfig& config, const StoreLocation& location) {
  OpenedStore opened;
  opened.location = location;
  const PgTarget target{location.url, location.plan};
  if (config.use == StoreConfig::Use::kRead) {
    opened.store = std::make_unique<PgStore>(target, PgStore::Access::kReadOnly);
    return opened;
  }
  opened.store = std::make_unique<PgStore>(target, PgStore::Access::kReadWrite);
  if (config.use == StoreConfig::Use::kDaemon) {
    ensure_state_dir(config.worktree);
    record_store_location(config.worktree, location);
    opened.notes.push_back("state in " + location.describe());
  }
  return opened;
}

}  // namespace

OpenedStore open_store(const StoreConfig& config) {
  const StoreLocation location =
      config.location ? *config.location : choose_store_location(config.worktree);
  if (location.is_postgres()) return open_postgres(config, location);
  switch (config.use) {
    case StoreConfig::Use::kRead: {
      const fs::path db = existing_state_db(config.worktree);
      if (db.empty()) return {};
      return {std::make_unique<SqliteStore>(db, SqliteStore::Access::kReadOnly), {}};
    }
    case StoreConfig::Use::kWrite:
      ensure_state_dir(config.worktree);
      return {std::make_unique<SqliteStore>(state_db_path(config.worktree),
                                            SqliteStore::Access::kReadWrite),
              {}};
    case StoreConfig::Use::kDaemon:
      return open_for_daemon(config.worktree);
  }
  throw Error::invalid("unknown store use");
}

}  // namespace harness
