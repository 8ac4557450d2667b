// How a client finds its worktree and its daemon's socket (docs/architecture.md, "Daemons and
// clients").
#pragma once

#include <filesystem>
#include <optional>

namespace harness {

// The checkout a call is made in: the nearest directory upwards from `flag` (the --worktree of
// this call) if given, else from $HARNESS_WORKTREE if set, else from the cwd, that holds a
// ".git" entry (what `git rev-parse --show-toplevel` finds, without starting git); else that
// starting directory itself. Always absolute and canonical.
std::filesystem::path resolve_checkout(const std::optional<std::filesystem::path>& flag);

// The worktree whose plan, state and daemon the call uses: the checkout's, or, when the
// checkout is bound to another worktree's plan (`harness worktree add`, `bind`;
// cli/worktree_binding.h), that worktree. Throws Error as plan_worktree_of does.
std::filesystem::path resolve_worktree(const std::optional<std::filesystem::path>& flag);

// `flag` (the --socket of this call) if given, else $HARNESS_SOCKET if set, else
// default_socket_path(worktree). Always absolute.
std::filesystem::path resolve_socket(const std::filesystem::path& worktree,
                                     const std::optional<std::filesystem::path>& flag);

// ${XDG_RUNTIME_DIR:-/tmp}/harness-$USER/<12 hex digits of a hash of the worktree>.sock: one
// daemon per worktree, so two repositories never share one by accident. Creates the
// directory with mode 0700; throws Error::io when it exists but is not a directory owned by
// this user with no access for others, and Error::invalid when $USER cannot name a directory
// (current_user_name).
std::filesystem::path default_socket_path(const std::filesystem::path& worktree);

}  // namespace harness
