// Where a worktree's harness files live (DESIGN §1): the one resolver that the daemon, the
// client, the hooks and the Python package all go through.
//
// In a git worktree the state lives under the worktree's git directory — `.git/harness/`, or
// `<gitdir>/harness/` when `.git` is a file saying `gitdir: <gitdir>` (a linked worktree or a
// submodule) — which no git command an agent runs (`clean -fdx`, `stash --all`, `checkout`)
// removes. Only a directory that is not in a git worktree keeps it in `W/.harness/`. A
// `W/.harness/` from earlier versions is moved to the new place once (migrate_state_dir).
#pragma once

#include <filesystem>

namespace harness {

// The state directory of `worktree`: found without running git, by looking for `.git` in the
// worktree and its parents (a directory → `.git/harness`; a file `gitdir: P` → `P/harness`,
// P relative to the file's directory unless absolute), else `W/.harness`. No side effects.
std::filesystem::path state_dir(const std::filesystem::path& worktree);
std::filesystem::path state_db_path(const std::filesystem::path& worktree);
std::filesystem::path trajectory_path(const std::filesystem::path& worktree);
std::filesystem::path daemon_log_path(const std::filesystem::path& worktree);
// Written by the daemon holding the state directory: its pid and socket (DaemonLock).
std::filesystem::path daemon_info_path(const std::filesystem::path& worktree);
// `W/.harness`, where state lived before it moved under the git directory.
std::filesystem::path legacy_state_dir(const std::filesystem::path& worktree);
// The Python original's state file, imported once when no state exists yet.
std::filesystem::path legacy_state_path(const std::filesystem::path& worktree);

// Moves a `W/.harness` that holds state (a state.db or trajectory.jsonl) to state_dir(W) with
// one rename, so that a daemon still writing there keeps its files. Nothing to do when
// state_dir(W) is `W/.harness` or there is nothing to move. Throws Error::conflict, changing
// nothing, when the new place exists too (it never guesses which state to keep), or when the
// two are on different file systems (a copy could lose a concurrent write); the message says
// what to do. Safe against a concurrent migration.
void migrate_state_dir(const std::filesystem::path& worktree);

// migrate_state_dir, then creates the state directory (mode 0700) holding a .gitignore of "*",
// so that a `W/.harness` never shows in `git status` or gets committed by `git add -A`.
// Idempotent. An existing directory must belong to this user; if others have access to it, it
// is made 0700. Throws Error::io (Error::conflict from the migration).
void ensure_state_dir(const std::filesystem::path& worktree);

// For readers that must not create state (the hooks, StateManager.load): migrate_state_dir,
// then the database's path if it exists, else an empty path.
std::filesystem::path existing_state_db(const std::filesystem::path& worktree);

}  // namespace harness
