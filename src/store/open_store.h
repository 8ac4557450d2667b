// Opening a worktree's store (DESIGN §4): the one place that knows how each user opens it —
// the daemon, the hooks and CLI readers, the Python package — and what opening involves beyond
// the engine's constructor: the state directory, refusing a lost database, the integrity check,
// the Python original's state file, the write-ahead log's preallocation, and what to tell the
// user when the database is damaged. The store layer does not print: what the user should hear
// comes back as notes.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "store/batching_store.h"
#include "store/store_location.h"

namespace harness {

struct StoreConfig {
  enum class Use {
    // Reads only, and never creates state (the hooks, StateManager.load, the daemon's reader):
    // moves an old W/.harness into place (migrate_state_dir), and opens no store when the
    // worktree has no database.
    kRead,
    // Writes too (StateManager.save): creates the state directory and an empty database when
    // there is none.
    kWrite,
    // kWrite for the daemon's writer, which runs long: refuses a database that vanished while
    // the trajectory records earlier work, checks the database's integrity, imports
    // W/.claude/dev-workflow-state.json once when no workflow exists, and preallocates the
    // write-ahead log.
    kDaemon,
  };

  std::filesystem::path worktree;
  Use use = Use::kRead;
  // The engine and where; unset: choose_store_location(worktree) (the environment, then what
  // the worktree's last daemon recorded, then SQLite).
  std::optional<StoreLocation> location;
};

struct OpenedStore {
  // The store; nullptr only for kRead when the worktree has no database.
  std::unique_ptr<BatchingStore> store;
  // What the user should hear, one sentence each, for the caller to print ("imported legacy
  // state from ...", "commits may be slower: ..."): none of them stopped the opening.
  std::vector<std::string> notes;
  StoreLocation location;  // what was opened
};

// Opens the store of `config.worktree` for `config.use`. A PostgreSQL store is opened the same
// way for each use (its database is created and migrated by the writer; a reader of a plan that
// does not exist yet finds no workflow), and kDaemon records its location for the worktree's
// readers (record_store_location). Throws Error: Error::corruption, for
// kDaemon with what to do to recover, when the database is damaged, is not a harness database or
// was lost; Error::io when it cannot be opened; Error::conflict from migrate_state_dir.
OpenedStore open_store(const StoreConfig& config);

}  // namespace harness
