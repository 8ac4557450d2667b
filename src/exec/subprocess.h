// Running one command for a client (docs/protocol.md, "exec and git"): never through a shell, in
// its own process group, with both output streams captured concurrently, a timeout that takes down
// the whole group, and a result that says exactly how the command ended.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

namespace harness {

class Reaper;

// Between SIGTERM and SIGKILL, unless a caller says otherwise (docs/protocol.md, "Timeouts").
inline constexpr std::chrono::milliseconds kDefaultKillGrace{1000};

struct CommandSpec {
  // argv. args[0] is looked up in PATH like execvp does, but with the PATH of the child's
  // environment below, not the daemon's. Never run through a shell.
  std::vector<std::string> args;
  // Working directory of the child; empty: the caller's. A relative path is relative to the
  // caller's working directory.
  std::string cwd;
  // The child's environment: merged over the current process environment (these win) when
  // inherit_environment is true; otherwise the whole of it.
  std::map<std::string, std::string> env;
  bool inherit_environment = true;
  // nullopt: no limit. When it runs out the process group gets SIGTERM, then SIGKILL after
  // kill_grace if the child is still alive.
  std::optional<std::chrono::milliseconds> timeout;
  std::chrono::milliseconds kill_grace = kDefaultKillGrace;
  // Bytes kept per stream; the rest is still read (so the child never blocks) but dropped.
  std::size_t output_cap = 16 << 20;
};

struct CommandResult {
  // The exit status; -signum when a signal ended the child; when it could not be started, 126
  // if the program was found but cannot be executed, else 127 (as shells report them).
  int returncode = 0;
  std::optional<std::string> signal_name;  // "SIGTERM", ...; set iff a signal ended the child
  std::string stdout_text;
  std::string stderr_text;  // when the command could not start: "harness: cannot run 'x': why"
  bool stdout_truncated = false;
  bool stderr_truncated = false;
  bool timed_out = false;  // the timeout ran out (whatever then ended the child)
  std::int64_t duration_ms = 0;
};

// Runs `spec` to completion on the calling thread and reports how it ended.
//
// The child starts in a new session (so a new process group, and no controlling terminal) with
// stdin on /dev/null, default signal dispositions, an empty signal mask and no file descriptors
// but 0, 1 and 2 (whatever the daemon has open). It is done when the child itself has exited.
// Whatever is left of its group then (a background job) gets SIGTERM; output is collected until
// both pipes are closed or kill_grace (at least ~200 ms) has passed, so a background grandchild
// holding them open cannot stall the caller; then the group gets SIGKILL. Nothing outlives its
// command but a process that left the group itself (setsid). The child also dies (SIGKILL) when
// the thread that called run_command does, so a command does not outlive a daemon killed by
// SIGKILL. The parent-death signal reaches that one process only: with a `reaper`, the child
// also puts its group on the reaper's list before it execs (and run_command takes it off once
// the group is killed), so that what the command started dies with the daemon too
// (exec/reaper.h); without one, it does not.
//
// Ending it early: when the timeout runs out, or when `stop` is requested (the daemon is
// shutting down; std::stop_token{} never is), the whole process group gets SIGTERM, then
// SIGKILL after kill_grace if the child has not exited; once the child has exited the rest
// of its group is killed too. A cancelled command is reported like any other (timed_out stays
// false; the caller knows it asked to stop).
//
// Throws Error::invalid when `args` is empty or an argument, the cwd or the environment
// contains a NUL byte (or an environment name is empty or contains '='), and Error::io when
// the operating system fails us (out of descriptors, child not waitable). A program that cannot
// be started — not found, not executable, bad cwd — is not an error: returncode 127 (126 for
// one found but not executable) with the reason on stderr_text. The caller must not reap children
// behind our back (waitpid(-1) or SIGCHLD set to SIG_IGN).
CommandResult run_command(const CommandSpec& spec, std::stop_token stop = {},
                          const Reaper* reaper = nullptr);

// The current process's environment, as a map (the first of duplicate entries wins).
std::map<std::string, std::string> process_environment();

}  // namespace harness
