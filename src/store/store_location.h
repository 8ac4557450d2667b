// Which engine holds a worktree's state (DESIGN §8c): its own SQLite database, the default with
// nothing to set up, or a plan in a PostgreSQL database that daemons on several machines share.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace harness {

struct StoreLocation {
  enum class Engine { kSqlite, kPostgres };
  Engine engine = Engine::kSqlite;
  std::string url;   // kPostgres: postgresql://... (or a libpq connection string)
  std::string plan;  // kPostgres: the plan's name in that database

  bool is_postgres() const { return engine == Engine::kPostgres; }
  // "SQLite" or "PostgreSQL at <url without password>, plan <name>", for messages.
  std::string describe() const;
  friend bool operator==(const StoreLocation&, const StoreLocation&) = default;
};

// The location for `worktree`: `store` (a daemon's --store: "sqlite", or a postgresql:// URL)
// if given, else $HARNESS_STORE, else the one the worktree's last daemon recorded
// (record_store_location), else SQLite. Every reader (hooks, the Python package) and every
// daemon of the worktree resolves it the same way, so they all see the same state.
//
// The plan of a PostgreSQL location: `plan` (--plan) if given, else $HARNESS_PLAN, else the
// recorded plan when the URL is the recorded one, else the repository's identity — its
// `origin` remote's URL, else its top-level directory's name — so that clones of one repository
// on several machines share a plan with nothing to set. Throws Error::invalid for a store that
// is neither.
StoreLocation choose_store_location(const std::filesystem::path& worktree,
                                    const std::optional<std::string>& store = std::nullopt,
                                    const std::optional<std::string>& plan = std::nullopt);

// Records `location` in the worktree's state directory (store.json, mode 0600), where
// choose_store_location finds it. Throws Error::io.
void record_store_location(const std::filesystem::path& worktree, const StoreLocation& location);

// The repository's identity for a default plan name: `git config remote.origin.url`, else the
// worktree's directory name.
std::string repository_identity(const std::filesystem::path& worktree);

}  // namespace harness
