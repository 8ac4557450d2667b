// The real `harness daemon` as a child process of a test. It reports readiness on a pipe
// (--ready-fd, as the CLI's auto-spawn does), so a test waits for the event, never for time.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "core/posix.h"

namespace harness::test_support {

class TestDaemon {
 public:
  enum class Outcome { kListening, kExited, kTimedOut };

  // Starts `harness daemon --socket S --worktree W`, its stderr appended to daemon.err beside
  // the worktree, and returns once it listens. Throws std::runtime_error, quoting that
  // stderr, when it exits or does not start in time.
  TestDaemon(const std::filesystem::path& socket, const std::filesystem::path& worktree);
  // The same with more options for `harness daemon` (e.g. {"--max-plan-request-mib", "1"}).
  TestDaemon(const std::filesystem::path& socket, const std::filesystem::path& worktree,
             const std::vector<std::string>& daemon_options);

  // Starts the daemon with its stderr appended to `stderr_file` and returns at once, for a
  // daemon that may refuse to start: await() tells which happened.
  static TestDaemon launch(const std::filesystem::path& socket,
                           const std::filesystem::path& worktree,
                           const std::filesystem::path& stderr_file);

  ~TestDaemon();  // SIGKILL and reap if still running
  TestDaemon(TestDaemon&& other) noexcept;
  TestDaemon& operator=(TestDaemon&&) = delete;
  TestDaemon(const TestDaemon&) = delete;

  // Waits until the daemon listens on its socket, or exits (refusing to start, or finding
  // another daemon holding the worktree), or `timeout` passes.
  Outcome await(std::chrono::milliseconds timeout = std::chrono::seconds(10));

  pid_t pid() const { return pid_; }
  // The wait status once it was reaped (await() returned kExited, or after a stop).
  int exit_status() const { return status_; }

  void kill_hard();          // SIGKILL and reap
  int terminate_and_wait();  // SIGTERM, then reaps; returns the wait status
  int wait();                // reaps (after a shutdown request); returns the wait status

 private:
  struct Launch {};
  TestDaemon(const std::filesystem::path& socket, const std::filesystem::path& worktree,
             const std::filesystem::path& stderr_file, Launch,
             const std::vector<std::string>& daemon_options = {});
  void reap();

  std::filesystem::path stderr_file_;
  UniqueFd ready_;  // the read end of the daemon's readiness pipe until it said something
  pid_t pid_ = -1;
  int status_ = -1;
};

}  // namespace harness::test_support
