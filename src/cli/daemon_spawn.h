// Starting a daemon in the background for a client that found none (DESIGN §1).
#pragma once

#include <filesystem>

namespace harness {

// The program run as "<program> daemon ...": by default this executable (/proc/self/exe).
// The Python extension points it at the harness binary shipped beside the package.
void set_daemon_program(const std::filesystem::path& program);
std::filesystem::path daemon_program();

// Starts `<program> daemon --socket S --worktree W` fully detached (new session, reparented
// to init, stdin /dev/null, stdout and stderr appended to W/.harness/daemon.log) and returns
// without waiting for it to serve. Safe to call from a multi-threaded process. Throws Error.
void spawn_daemon(const std::filesystem::path& socket, const std::filesystem::path& worktree);

}  // namespace harness
