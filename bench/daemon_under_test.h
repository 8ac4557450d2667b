// The daemon a benchmark measures: either one it starts on a fresh worktree of its own, or one
// that is already running (attached by socket).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>

#include "process.h"

namespace harness::bench {

// The harness binary next to this executable (build/bin/harness beside build/bin/harness-bench).
std::filesystem::path default_harness_binary();

struct DaemonMemory {
  long rss_kb = 0;  // VmRSS: resident now
  long hwm_kb = 0;  // VmHWM: the peak resident size so far
};

class DaemonUnderTest {
 public:
  // Spawns `harness daemon --socket DIR/daemon.sock --worktree DIR/worktree` (log in
  // DIR/daemon.log) and returns at once, without waiting for it to listen. Throws Error::io.
  static DaemonUnderTest launch(const std::filesystem::path& harness_binary,
                                const std::filesystem::path& dir);
  // launch() and then wait_until_serving().
  static DaemonUnderTest start(const std::filesystem::path& harness_binary,
                               const std::filesystem::path& dir);
  // A daemon already serving `socket`; its pid comes from ping. Throws when it does not answer.
  static DaemonUnderTest attach(const std::filesystem::path& socket);

  // Waits until the daemon answers ping. Throws Error::io, quoting the end of its log, when it
  // exits first or does not answer within `timeout`.
  void wait_until_serving(std::chrono::milliseconds timeout = std::chrono::seconds(30));

  const std::filesystem::path& socket() const { return socket_; }
  pid_t pid() const { return pid_; }
  // Throws Error::io when the daemon has exited (an owned one is reaped and its log quoted).
  void check_alive();

  // From /proc/PID/status, so the daemon must run on this machine. Throws Error::io.
  DaemonMemory memory() const;

  // An owned daemon is asked to shut down and must exit cleanly within 30 s (else it is killed
  // and Error::io thrown); an attached one is left running.
  void stop();

 private:
  DaemonUnderTest(std::filesystem::path socket, std::optional<ChildProcess> child,
                  std::filesystem::path log);
  std::string log_tail() const;

  std::filesystem::path socket_;
  std::optional<ChildProcess> child_;
  std::filesystem::path log_;
  pid_t pid_ = -1;
};

}  // namespace harness::bench
