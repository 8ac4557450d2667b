// Starting a daemon in the background for a client that found none (docs/architecture.md, "Daemons
// and clients").
#pragma once

#include <filesystem>

#include "core/posix.h"

namespace harness {

// The program run as "<program> daemon ...": by default this executable (/proc/self/exe).
// The Python extension points it at the harness binary shipped beside the package.
void set_daemon_program(const std::filesystem::path& program);
std::filesystem::path daemon_program();

// The descriptor a spawned daemon finds its readiness pipe on (`harness daemon --ready-fd`).
inline constexpr int kDaemonReadyFd = 3;

// Starts `<program> daemon --socket S --worktree W --ready-fd 3` fully detached (new session,
// reparented to init, stdin /dev/null, stdout and stderr appended to daemon_log_path(W)) and
// returns without waiting for it to serve. Returns the read end of a pipe whose write end only
// the daemon holds: it writes "ready\n" there once it listens, and the pipe reaches end of
// file without it when the daemon exits first. Safe to call from a multi-threaded process.
// Throws Error.
UniqueFd spawn_daemon(const std::filesystem::path& socket, const std::filesystem::path& worktree);

}  // namespace harness
