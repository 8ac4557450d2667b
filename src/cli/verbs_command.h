// The verbs that run an agent's commands through the daemon: exec and git, and worker-id, the
// identity those commands carry (docs/protocol.md, "exec and git").
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/cli_context.h"
#include "cli/verb.h"

namespace harness {

// A command line split at the "--" of exec and git: everything after it is the command,
// whatever it looks like (-c, -e, --env=...), so CLI11 never sees it as an option.
struct SplitArgs {
  std::vector<std::string> harness;                 // what CLI11 parses
  std::optional<std::vector<std::string>> command;  // set when the verb is exec or git with "--"
  std::string verb;  // the first word that is neither an option nor the value of
                     // --socket/--worktree; empty when there is none
};

// Splits `args` (without the program name) at the first "--" after an exec or git verb; any
// other command line goes to CLI11 whole.
SplitArgs split_command(const std::vector<std::string>& args);

// What to tell a user whose exec or git command words CLI11 refused as unexpected arguments
// (they came without "--"); empty for any other command line.
std::string command_hint(const SplitArgs& split);

// Adds exec, git and worker-id; exec and git take their command from `split`.
void register_command_verbs(CLI::App& app, CliContext& ctx, Action& action, const SplitArgs& split);

}  // namespace harness
