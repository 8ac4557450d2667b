#include "exec/repository_lock.h"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>
#include <vector>

#include "exec/git_guard.h"

namespace harness {

namespace fs = std::filesystem;

fs::path repository_lock_file(const fs::path& dir) {
  // The git dir, then (for a linked worktree) the common dir.
  const std::vector<fs::path> git_dirs = git_directories(dir);
  if (git_dirs.empty()) return {};
  return git_dirs.back() / "harness-git.lock";
}

std::optional<RepositoryLock> RepositoryLock::acquire(const fs::path& dir) {
  fs::path file = repository_lock_file(dir);
  if (file.empty()) return std::nullopt;
  UniqueFd fd(::open(file.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) return std::nullopt;
  while (::flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return std::nullopt;
  }
  return RepositoryLock(std::move(fd), std::move(file));
}

}  // namespace harness
