#include "store/state_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "core/error.h"

namespace harness {

namespace fs = std::filesystem;

fs::path state_dir(const fs::path& worktree) { return worktree / ".harness"; }
fs::path state_db_path(const fs::path& worktree) { return state_dir(worktree) / "state.db"; }
fs::path trajectory_path(const fs::path& worktree) {
  return state_dir(worktree) / "trajectory.jsonl";
}
fs::path daemon_log_path(const fs::path& worktree) { return state_dir(worktree) / "daemon.log"; }
fs::path legacy_state_path(const fs::path& worktree) {
  return worktree / ".claude" / "dev-workflow-state.json";
}

void ensure_state_dir(const fs::path& worktree) {
  const fs::path dir = state_dir(worktree);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    throw Error::from_errno("cannot create " + dir.string());
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0) throw Error::from_errno("cannot inspect " + dir.string());
  if (!S_ISDIR(st.st_mode)) throw Error::io(dir.string() + " exists but is not a directory");
  if (st.st_uid != ::geteuid())
    throw Error::io(
        dir.string() +
        " belongs to another user; harness keeps its state only in a directory of yours");
  // Others must not plant or read state files here: a directory left open is closed.
  if ((st.st_mode & 077) != 0 && ::chmod(dir.c_str(), 0700) != 0)
    throw Error::from_errno("cannot make " + dir.string() + " private");

  const fs::path ignore = dir / ".gitignore";
  int fd = ::open(ignore.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return;
    throw Error::from_errno("cannot create " + ignore.string());
  }
  const char content[] = "*\n";
  const bool ok =
      ::write(fd, content, sizeof content - 1) == static_cast<ssize_t>(sizeof content - 1);
  ::close(fd);
  if (!ok) throw Error::from_errno("cannot write " + ignore.string());
}

}  // namespace harness
