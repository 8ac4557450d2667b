#include "store/state_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <string>

#include "core/error.h"
#include "core/posix.h"

namespace harness {

namespace fs = std::filesystem;

namespace {

// The git directory a `.git` file points to ("gitdir: P"), or an empty path when the file
// does not say.
fs::path gitdir_from_file(const fs::path& dot_git) {
  std::ifstream in(dot_git);
  std::string line;
  if (!std::getline(in, line)) return {};
  if (!line.empty() && line.back() == '\r') line.pop_back();
  static constexpr std::string_view kPrefix = "gitdir: ";
  if (line.size() <= kPrefix.size() || line.compare(0, kPrefix.size(), kPrefix) != 0) return {};
  const fs::path target = line.substr(kPrefix.size());
  return (target.is_absolute() ? target : dot_git.parent_path() / target).lexically_normal();
}

// The git directory of the repository `worktree` is in, or an empty path when it is in none.
// What `git rev-parse --git-dir` finds, without starting git: every CLI call resolves it.
fs::path find_git_dir(const fs::path& worktree) {
  fs::path dir = fs::absolute(worktree).lexically_normal();
  if (!dir.has_filename() && dir != dir.root_path()) dir = dir.parent_path();  // "a/b/" → "a/b"
  for (;;) {
    const fs::path dot_git = dir / ".git";
    struct stat st;
    if (::stat(dot_git.c_str(), &st) == 0) {
      if (S_ISDIR(st.st_mode)) return dot_git;
      if (S_ISREG(st.st_mode)) return gitdir_from_file(dot_git);
    }
    if (dir == dir.root_path()) return {};
    dir = dir.parent_path();
  }
}

bool is_real_directory(const fs::path& p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool entry_exists(const fs::path& p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0;
}

// A directory holding a database or a trajectory: something that must never be lost.
bool holds_state(const fs::path& dir) {
  return is_real_directory(dir) &&
         (entry_exists(dir / "state.db") || entry_exists(dir / "trajectory.jsonl"));
}

}  // namespace

fs::path state_dir(const fs::path& worktree) {
  const fs::path git_dir = find_git_dir(worktree);
  return git_dir.empty() ? legacy_state_dir(worktree) : git_dir / "harness";
}
fs::path state_db_path(const fs::path& worktree) { return state_dir(worktree) / "state.db"; }
fs::path trajectory_path(const fs::path& worktree) {
  return state_dir(worktree) / "trajectory.jsonl";
}
fs::path daemon_log_path(const fs::path& worktree) { return state_dir(worktree) / "daemon.log"; }
fs::path daemon_info_path(const fs::path& worktree) { return state_dir(worktree) / "daemon.json"; }
fs::path legacy_state_dir(const fs::path& worktree) { return worktree / ".harness"; }
fs::path legacy_state_path(const fs::path& worktree) {
  return worktree / ".claude" / "dev-workflow-state.json";
}

void migrate_state_dir(const fs::path& worktree) {
  const fs::path from = legacy_state_dir(worktree);
  const fs::path to = state_dir(worktree);
  if (to == from) return;
  // Another process may be migrating at the same moment: decide again after losing a race.
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (!holds_state(from)) return;
    if (entry_exists(to))
      throw Error::conflict(
          "harness state exists in two places: " + from.string() + " (where it used to live, " +
          "which `git clean -fdx` deletes) and " + to.string() +
          " (where it lives now). Keep one: move the other aside (e.g. `mv " + from.string() + " " +
          from.string() + ".old`), with no daemon running, then retry");
    // One rename: atomic, and a daemon of an earlier version keeps writing to the same files.
    if (::rename(from.c_str(), to.c_str()) == 0) return;
    const int err = errno;
    if (err == ENOENT || err == EEXIST || err == ENOTEMPTY) continue;
    if (err == EXDEV)
      throw Error::conflict("harness state must move from " + from.string() + " (which " +
                            "`git clean -fdx` deletes) to " + to.string() +
                            ", which is on another file system: stop the daemon (`harness " +
                            "shutdown`), then `mv " + from.string() + " " + to.string() + "`");
    errno = err;
    throw Error::from_errno("cannot move harness state from " + from.string() + " to " +
                            to.string());
  }
  throw Error::io("cannot move harness state from " + from.string() + " to " + to.string() +
                  ": it keeps changing");
}

void ensure_state_dir(const fs::path& worktree) {
  migrate_state_dir(worktree);
  const fs::path dir = state_dir(worktree);
  switch (ensure_private_dir(dir)) {
    case DirState::kNotADirectory:
      throw Error::io(dir.string() + " exists but is not a directory");
    case DirState::kOtherOwner:
      throw Error::io(
          dir.string() +
          " belongs to another user; harness keeps its state only in a directory of yours");
    case DirState::kOpenToOthers:  // others must not plant or read state files here
      if (::chmod(dir.c_str(), 0700) != 0)
        throw Error::from_errno("cannot make " + dir.string() + " private");
      break;
    case DirState::kPrivate:
      break;
  }

  const fs::path ignore = dir / ".gitignore";
  const UniqueFd fd(
      ::open(ignore.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) {
    if (errno == EEXIST) return;
    throw Error::from_errno("cannot create " + ignore.string());
  }
  constexpr std::string_view kIgnoreAll = "*\n";
  if (write_all(fd.get(), kIgnoreAll) != kIgnoreAll.size())
    throw Error::from_errno("cannot write " + ignore.string());
}

fs::path existing_state_db(const fs::path& worktree) {
  migrate_state_dir(worktree);
  const fs::path db = state_db_path(worktree);
  return entry_exists(db) ? db : fs::path();
}

}  // namespace harness
