#include "cli/paths.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "cli/worktree_binding.h"
#include "core/error.h"
#include "core/posix.h"

namespace harness {

namespace fs = std::filesystem;

namespace {

std::string env_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

// FNV-1a: stable across builds and machines, unlike std::hash.
std::string short_hash(const std::string& text) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return std::string(buf, 12);
}

}  // namespace

// A directory inside a repository stands for the repository: its state (under the git
// directory) is the repository's, so one repository is one worktree, one socket, one daemon,
// whichever of its directories --worktree or HARNESS_WORKTREE names.
fs::path resolve_checkout(const std::optional<fs::path>& flag) {
  const fs::path configured = flag ? *flag : fs::path(env_or_empty("HARNESS_WORKTREE"));
  const fs::path start =
      fs::weakly_canonical(configured.empty() ? fs::current_path() : fs::absolute(configured));
  for (fs::path dir = start;; dir = dir.parent_path()) {
    std::error_code ignored;
    if (fs::exists(dir / ".git", ignored)) return dir;
    if (dir == dir.root_path()) break;
  }
  return start;
}

fs::path resolve_worktree(const std::optional<fs::path>& flag) {
  return plan_worktree_of(resolve_checkout(flag));
}

fs::path default_socket_path(const fs::path& worktree) {
  std::string base = env_or_empty("XDG_RUNTIME_DIR");
  if (base.empty()) base = "/tmp";
  const fs::path dir = fs::path(base) / ("harness-" + current_user_name());
  if (ensure_private_dir(dir) != DirState::kPrivate)
    throw Error::io(
        dir.string() +
        " must be a directory owned by you with mode 0700; remove it or set HARNESS_SOCKET");
  return dir / (short_hash(worktree.string()) + ".sock");
}

fs::path resolve_socket(const fs::path& worktree, const std::optional<fs::path>& flag) {
  const fs::path configured = flag ? *flag : fs::path(env_or_empty("HARNESS_SOCKET"));
  if (!configured.empty()) return fs::absolute(configured);
  return default_socket_path(worktree);
}

}  // namespace harness
