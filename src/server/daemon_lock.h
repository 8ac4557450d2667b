// One daemon per state directory (docs/architecture.md, "Daemons and clients"): two daemons on one
// database would each believe they own it, and two socket paths for one worktree ($HARNESS_SOCKET,
// $XDG_RUNTIME_DIR differ between shells) must never give two daemons. The daemon holds an
// exclusive flock on its state directory itself for its whole life, taken before it binds, and
// records its pid and socket beside it so that others can say where it is.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>

#include "core/error.h"
#include "core/posix.h"

namespace harness {

// Who holds a worktree's state directory, as recorded in daemon_info_path(worktree).
struct DaemonInfo {
  pid_t pid = 0;
  std::filesystem::path socket;
  std::filesystem::path worktree;  // the one it serves: a subdirectory shares its repository's
};

// Thrown when another process holds the state directory: a daemon that meets it lost a race
// (or was started twice) and says so to the client that spawned it.
class DaemonBusy : public Error {
 public:
  explicit DaemonBusy(const std::string& message) : Error(Kind::kConflict, message) {}
};

class DaemonLock {
 public:
  // Takes the lock on state_dir(worktree), which must exist (ensure_state_dir), and records
  // this process and `socket`; or throws DaemonBusy("Another daemon is already running for
  // <W> (pid P, socket S) ..."). A directory needs no lock file: nothing is left behind,
  // and a read-only state directory still locks. The record is written aside and renamed
  // into place (never followed through a planted symlink); a failure to write it is no error.
  DaemonLock(const std::filesystem::path& worktree, const std::filesystem::path& socket);
  // Removes the record, then releases the lock.
  ~DaemonLock();

  DaemonLock(const DaemonLock&) = delete;
  DaemonLock& operator=(const DaemonLock&) = delete;

 private:
  std::filesystem::path info_path_;
  UniqueFd dir_;
};

// The record of the daemon holding (or, after a crash, last holding) the state directory of
// `worktree`; nullopt when there is none or it cannot be read.
std::optional<DaemonInfo> read_daemon_info(const std::filesystem::path& worktree);

// True when `info` names a process that still exists and is not a zombie (a daemon killed with
// -9 that nobody has reaped yet holds no lock any more).
bool holder_alive(const DaemonInfo& info);

}  // namespace harness
