// Helpers shared by the reliability and security tests (tests/reliability/*_test.cc): reading
// another process's memory and descriptors from /proc, mounts that inject storage faults,
// read-only checks of the state database and of the trajectory, and running a program as
// another user. The daemon, its socket and the CLI are tests/testing's (TestDaemon,
// SocketClient, run_harness).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/json.h"
#include "testing/run_program.h"

struct sqlite3;

namespace harness::testing::reliability {

// The daemon's memory bound (peak resident memory, VmHWM). Under a sanitizer the runtime's
// shadow memory and ASan's quarantine of freed blocks (256 MiB) inflate resident memory by
// design, so there only gross growth is caught.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr long kMemoryBoundKiB = 1024 * 1024;
#else
constexpr long kMemoryBoundKiB = 150 * 1024;
#endif

// ---- /proc ---------------------------------------------------------------------------------

// A "Vm..." figure of /proc/PID/status in KiB (VmRSS, VmHWM = peak RSS), or -1.
long proc_status_kib(pid_t pid, const char* key);
// Open descriptors of `pid` (entries of /proc/PID/fd), or -1.
int open_descriptor_count(pid_t pid);

// ---- processes -----------------------------------------------------------------------------

// Waits until process `pid` (not necessarily a child: a daemon the CLI spawned is reparented
// to init) no longer exists; false after `timeout_ms`.
bool wait_for_exit(pid_t pid, int timeout_ms = 10000);
// Raises this process's RLIMIT_NOFILE soft limit to the hard limit; returns the new limit.
long raise_descriptor_limit();

// ---- files ---------------------------------------------------------------------------------

std::string read_file(const std::filesystem::path& file);
void write_file(const std::filesystem::path& file, const std::string& content);

// ---- storage faults ------------------------------------------------------------------------

// A mount over `target`, detached (MNT_DETACH) when destroyed. Creating one needs
// CAP_SYS_ADMIN; the factories return nullopt (and say why in `why`) when it is refused.
class ScopedMount {
 public:
  // An empty tmpfs of `bytes` bytes mounted on the existing directory `target`.
  static std::optional<ScopedMount> tmpfs(const std::filesystem::path& target, std::size_t bytes,
                                          std::string* why);
  // `target` bound onto itself, read-only: the files stay readable, nothing can be written,
  // not even by root (permission bits do not stop root; a read-only mount does).
  static std::optional<ScopedMount> read_only_bind(const std::filesystem::path& target,
                                                   std::string* why);
  ScopedMount(ScopedMount&& other) noexcept;
  ScopedMount& operator=(ScopedMount&&) = delete;
  ~ScopedMount();
  void release();  // unmounts now

 private:
  explicit ScopedMount(std::filesystem::path target) : target_(std::move(target)) {}
  std::filesystem::path target_;
};

// Fills the file system holding `dir` with a file `dir/filler` until write(2) fails with
// ENOSPC. Returns the bytes written.
std::size_t fill_file_system(const std::filesystem::path& dir);

// ---- the state database, read-only -----------------------------------------------------------

// A read-only SQLite connection of its own, independent of the daemon's.
class StateDb {
 public:
  explicit StateDb(const std::filesystem::path& file);
  ~StateDb();
  StateDb(const StateDb&) = delete;
  StateDb& operator=(const StateDb&) = delete;
  // Every row of `sql` as text columns (NULL as "<null>"). Throws std::runtime_error.
  std::vector<std::vector<std::string>> query(const std::string& sql);
  // The rows of PRAGMA integrity_check joined with "; " ("ok" when healthy).
  std::string integrity_check();

 private:
  ::sqlite3* db_ = nullptr;
};

// ---- the trajectory --------------------------------------------------------------------------

struct TrajectoryScan {
  std::size_t lines = 0;                 // '\n'-terminated lines, plus an unterminated last one
  std::size_t parsed = 0;                // lines that are JSON objects
  std::size_t repaired = 0;              // unparseable lines followed by a daemon_start line
  bool torn_tail = false;                // the file ends without '\n' in the middle of a line
  std::vector<std::string> problems;     // unparseable lines not accounted for as torn
  std::map<std::string, int> completes;  // "complete" events per task id
  std::size_t daemon_starts = 0;
};

// Reads the trajectory the way a reader must: line by line. An unparseable line is tolerated
// only if it is the unterminated last line (torn by a crash, repaired at the next start) or
// is followed by a daemon_start event (a torn line the next daemon terminated).
TrajectoryScan scan_trajectory(const std::filesystem::path& file);

// ---- other users -----------------------------------------------------------------------------

// The argv prefix that runs a program (test_support::run_program) as nobody:nogroup with no
// supplementary groups.
std::vector<std::string> as_nobody();
// True when setpriv exists and can drop to nobody here.
bool can_run_as_nobody(std::string* why);

// ---- randomness ------------------------------------------------------------------------------

// The seed for a randomised test: $`env_name` if set (a failure printed it), else random.
// Prints "<env_name>=<seed>" so that a failing run can be repeated exactly.
std::uint64_t test_seed(const char* env_name);

// ---- stress sizes ----------------------------------------------------------------------------

// `n` times HARNESS_STRESS_SCALE (a positive factor, default 1), rounded, and at least
// `minimum`: a slow build (the sanitizer run in CI, docs/reliability.md) runs the stress tests
// smaller instead of skipping them. Prints the scaled size when the variable is set, so that a
// log says how big the run was. Throws std::invalid_argument when it is not a positive number.
int stress_size(int n, int minimum = 1);

}  // namespace harness::testing::reliability
