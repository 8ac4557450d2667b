// The command-line interface (README.md): `harness <verb> ...`. Shared by the binary's main()
// and `python -m harness`.
#pragma once

#include <string>
#include <vector>

namespace harness {

// Runs the CLI with `args` (without the program name) and returns the exit status: 0 success,
// 1 failure (an error reply, no workflow, a hook that denies), 2 usage error.
int run_cli(const std::vector<std::string>& args);

}  // namespace harness
