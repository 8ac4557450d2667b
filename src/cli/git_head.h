// The commit HEAD points at, for the commit gate (see check_commit in hooks.h).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace harness {

// `git rev-parse --verify -q HEAD` in `worktree`; nullopt when that fails (no repository,
// no commits yet, git missing).
std::optional<std::string> current_head(const std::filesystem::path& worktree);

}  // namespace harness
