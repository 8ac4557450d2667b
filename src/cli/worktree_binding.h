// Binding a worktree to the plan and daemon of another worktree of the same repository
// (DESIGN §8c, `harness worktree`). A bound worktree has no plan of its own: every harness call
// made in it reaches the daemon of the worktree it is bound to (paths.h), while its commands
// still run in it (their cwd is the caller's).
//
// The binding is a file, `bound-to`, in the bound worktree's state directory: under its git
// directory (`.git/worktrees/NAME/harness/`), which `git clean -fdx` and `git stash --all` never
// reach, and which `git worktree remove` and `git worktree prune` delete with the worktree. It
// holds one line: the absolute path of the worktree whose plan it uses.
#pragma once

#include <filesystem>
#include <optional>

namespace harness {

std::filesystem::path binding_file(const std::filesystem::path& checkout);

// The worktree `checkout` is bound to, or nullopt when it is not bound. Throws Error::io when
// the file cannot be read or says nothing.
std::optional<std::filesystem::path> bound_to(const std::filesystem::path& checkout);

// The worktree whose plan and daemon `checkout` uses: the one it is bound to, else itself.
// Throws Error::not_found when that worktree no longer exists (the message says how to unbind),
// Error::invalid for a chain of bindings that loops.
std::filesystem::path plan_worktree_of(const std::filesystem::path& checkout);

// Binds `checkout` to `plan_worktree`, replacing any binding, in one rename. Throws Error::io.
void write_binding(const std::filesystem::path& checkout,
                   const std::filesystem::path& plan_worktree);

// Removes the binding; false when there was none.
bool remove_binding(const std::filesystem::path& checkout);

}  // namespace harness
