// Where a worktree's harness files live: W/.harness/ (DESIGN §1).
#pragma once

#include <filesystem>

namespace harness {

std::filesystem::path state_dir(const std::filesystem::path& worktree);
std::filesystem::path state_db_path(const std::filesystem::path& worktree);
std::filesystem::path trajectory_path(const std::filesystem::path& worktree);
std::filesystem::path daemon_log_path(const std::filesystem::path& worktree);
// The Python original's state file, imported once when no state exists yet.
std::filesystem::path legacy_state_path(const std::filesystem::path& worktree);

// Creates W/.harness (mode 0700) holding a .gitignore of "*", so that nothing in it ever shows
// in `git status` or gets committed by an agent's `git add -A`. Idempotent. An existing
// directory must belong to this user; if others have access to it, it is made 0700. Throws
// Error::io.
void ensure_state_dir(const std::filesystem::path& worktree);

}  // namespace harness
