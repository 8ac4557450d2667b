// Commands run in a container through `docker exec` (DESIGN §8c), as the system harness
// replaces did with HARNESS_CONTAINER_ID.
//
// Each command is `docker exec -w <cwd in the container> -e NAME=VALUE... --user UID:GID
// <container> sh -c <launcher> harness <argv...>`: no -i (stdin is closed, as for a local
// command), the caller's working directory mapped into the container (ContainerPaths), the
// command's environment less what only describes this machine (kHostOnlyVariables: the
// container's own PATH, HOME, ... apply), and the daemon's uid and gid (which are the caller's:
// the daemon serves no other user). The launcher execs the command, or reports a program the
// container lacks like a local one: exit 127, "harness: cannot run 'x': ...".
//
// Ending a command: killing a `docker exec` client leaves its process running in the
// container. So every command carries a token of its own in its environment (HARNESS_RUN=...,
// inherited by everything it starts), and a timeout or cancellation runs
// `docker exec <container> sh -c <killer> ...`, which signals every process in the container
// whose environment holds that token: SIGTERM, then SIGKILL after the command's kill grace
// (again each grace while the client runs on, for a command docker started late).
// The reply then reports the signal as for a local command (returncode -N, signal_name).
// Docker reports a command killed by signal N as exit status 128+N, like one that exited with
// that status: only when harness sent signal N is it reported as the signal.
//
// What is not covered: a process that clears its environment (env -i) escapes the token; what
// a command leaves running after it exits normally is not killed (a local command's group is);
// a daemon killed with SIGKILL ends the `docker exec` clients (the reaper) but not the
// commands inside. The container needs `sh`, `tr`, `grep`, `kill` and /proc (any image with a
// shell has them).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "exec/command_runtime.h"

namespace harness {

// Variables of the caller's environment that describe this machine, not the command: they are
// not passed into the container, whose own values apply.
extern const std::vector<std::string> kHostOnlyVariables;

// The variable that marks every process of one command in the container.
inline constexpr const char* kRunTokenVariable = "HARNESS_RUN";

// Maps host paths to the container's: a path under host_root is the same path under
// container_root; without roots, paths are the same on both sides.
class ContainerPaths {
 public:
  ContainerPaths() = default;
  // Both roots or neither; each absolute. Throws Error::invalid otherwise. Trailing slashes do
  // not matter.
  ContainerPaths(const std::filesystem::path& host_root,
                 const std::filesystem::path& container_root);

  // `host_path` (absolute) in the container, or nullopt when it is outside host_root.
  std::optional<std::string> to_container(const std::filesystem::path& host_path) const;

  bool identity() const { return host_root_.empty(); }
  const std::filesystem::path& host_root() const { return host_root_; }
  const std::filesystem::path& container_root() const { return container_root_; }

 private:
  std::filesystem::path host_root_;
  std::filesystem::path container_root_;
};

class DockerRuntime : public CommandRuntime {
 public:
  struct Options {
    std::string container;
    ContainerPaths paths;
    std::string docker = "docker";  // looked up in the daemon's PATH
    std::string user;               // "UID:GID"; empty: the daemon's effective uid and gid
  };

  explicit DockerRuntime(Options options);

  // Throws Error unless `docker info` succeeds and `docker inspect` says the container is
  // running; the message says which and what docker said.
  void check() const;

  CommandResult run(const CommandSpec& spec, std::stop_token stop,
                    const Reaper* reaper) const override;
  std::string description() const override { return "container " + options_.container; }

  // The `docker exec` argv that runs `spec` in `container_cwd`, marked with `token`.
  std::vector<std::string> exec_argv(const CommandSpec& spec, const std::string& container_cwd,
                                     const std::string& token) const;
  // The `docker exec` argv that sends `signal_name` ("TERM", "KILL") to every process of the
  // command marked with `token`.
  std::vector<std::string> kill_argv(const std::string& token,
                                     const std::string& signal_name) const;

 private:
  CommandResult run_in_container(const CommandSpec& spec, const std::string& container_cwd,
                                 std::stop_token stop, const Reaper* reaper) const;
  void signal_command(const std::string& token, int signum) const;

  Options options_;
};

}  // namespace harness
