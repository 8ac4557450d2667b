// Where the daemon runs exec and git commands (DESIGN §8c): on this machine, or through
// `docker exec` in a container (exec/docker_runtime.h). The daemon chooses one when it starts
// (open_command_runtime) and runs every command through it.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>

#include "exec/subprocess.h"

namespace harness {

class Reaper;

class CommandRuntime {
 public:
  virtual ~CommandRuntime() = default;

  // Runs `spec` to completion and reports how it ended, with run_command's contract
  // (exec/subprocess.h): the timeout and `stop` end the command (SIGTERM, then SIGKILL after
  // spec.kill_grace) and the result names the signal; a program that cannot be started is
  // returncode 127 (126 when found but not executable) with the reason on stderr_text; a
  // `reaper` sees to what runs on this machine once the daemon is gone.
  virtual CommandResult run(const CommandSpec& spec, std::stop_token stop,
                            const Reaper* reaper) const = 0;

  // What runs the commands, for the daemon's log: "this machine", "container ID".
  virtual std::string description() const = 0;
};

// Runs commands here, with run_command.
class LocalRuntime : public CommandRuntime {
 public:
  CommandResult run(const CommandSpec& spec, std::stop_token stop,
                    const Reaper* reaper) const override;
  std::string description() const override { return "this machine"; }
};

// Which runtime a daemon uses.
struct RuntimeConfig {
  std::string container;  // empty: this machine; else the container's id or name
  // The host directory the container sees as container_root; both empty: the container sees
  // host paths as they are.
  std::filesystem::path host_root;
  std::filesystem::path container_root;

  // `container_flag` (`harness daemon --container`) if given, else $HARNESS_CONTAINER_ID; the
  // roots from $HARNESS_HOST_ROOT and $HARNESS_CONTAINER_ROOT.
  static RuntimeConfig from_environment(const std::optional<std::string>& container_flag = {});
};

// The runtime `config` names, once it is known to work: for a container, `docker info`
// answers and the container is running. Throws Error naming what is wrong (docker missing or
// not answering, the container unknown or stopped, only one root given, a relative root).
std::unique_ptr<CommandRuntime> open_command_runtime(const RuntimeConfig& config);

}  // namespace harness
