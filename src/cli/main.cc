#include <csignal>
#include <string>
#include <vector>

#include "cli/cli.h"

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // a closed pipe or socket is an error to report, not a death
  return harness::run_cli(std::vector<std::string>(argv + 1, argv + argc));
}
