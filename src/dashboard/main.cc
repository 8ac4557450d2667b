// harness-web: the harness CLI with the dashboard server in it (cli/web_launch.h). Only
// `harness web` runs it; every other verb works here as in harness.
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/cli.h"
#include "cli/daemon_spawn.h"
#include "cli/web_launch.h"
#include "dashboard/dashboard_command.h"

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  harness::set_web_server(harness::serve_dashboard);
  // A daemon this program starts is the lighter harness beside it.
  const std::filesystem::path harness =
      std::filesystem::read_symlink("/proc/self/exe").parent_path() / "harness";
  if (::access(harness.c_str(), X_OK) == 0) harness::set_daemon_program(harness);
  return harness::run_cli(std::vector<std::string>(argv + 1, argv + argc));
}
