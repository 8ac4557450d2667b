#include "exec/command_runtime.h"

#include <cstdlib>

#include "exec/docker_runtime.h"

namespace harness {

namespace {

std::string env_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

}  // namespace

CommandResult LocalRuntime::run(const CommandSpec& spec, std::stop_token stop,
                                const Reaper* reaper) const {
  return run_command(spec, std::move(stop), reaper);
}

RuntimeConfig RuntimeConfig::from_environment(const std::optional<std::string>& container_flag) {
  RuntimeConfig config;
  config.container = container_flag ? *container_flag : env_or_empty("HARNESS_CONTAINER_ID");
  config.host_root = env_or_empty("HARNESS_HOST_ROOT");
  config.container_root = env_or_empty("HARNESS_CONTAINER_ROOT");
  return config;
}

std::unique_ptr<CommandRuntime> open_command_runtime(const RuntimeConfig& config) {
  if (config.container.empty()) return std::make_unique<LocalRuntime>();
  DockerRuntime::Options options;
  options.container = config.container;
  options.paths = ContainerPaths(config.host_root, config.container_root);
  auto docker = std::make_unique<DockerRuntime>(std::move(options));
  docker->check();
  return docker;
}

}  // namespace harness
