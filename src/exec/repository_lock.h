// The repository's git lock (DESIGN §8c). Worktrees of one repository share its refs, objects
// and configuration, so two git commands in two of them can collide as two in one worktree do.
// Every git command harness runs for a repository holds this lock: the daemon's git (and exec
// --exclusive), whichever worktree it comes from and whichever daemon serves it, and the
// `harness worktree` verbs. It is flock(2) on `<common git dir>/harness-git.lock`, so it spans
// processes, dies with its holder, and other tools may take it too.
#pragma once

#include <filesystem>
#include <optional>

#include "core/posix.h"

namespace harness {

// The lock file of the repository git finds from `dir` (any of its worktrees, or a directory
// in one): in the common git directory (`git rev-parse --git-common-dir`), found without
// running git. Empty when `dir` is in no repository.
std::filesystem::path repository_lock_file(const std::filesystem::path& dir);

class RepositoryLock {
 public:
  // Waits until this process holds the lock of the repository of `dir`. nullopt, at once, when
  // `dir` is in no repository, or the lock file cannot be created there (a repository this
  // user may not write to: git cannot change it either).
  static std::optional<RepositoryLock> acquire(const std::filesystem::path& dir);

  const std::filesystem::path& file() const { return file_; }

 private:
  RepositoryLock(UniqueFd fd, std::filesystem::path file)
      : fd_(std::move(fd)), file_(std::move(file)) {}

  UniqueFd fd_;  // the lock is released when it closes
  std::filesystem::path file_;
};

}  // namespace harness
