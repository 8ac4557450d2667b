// The verbs agents' hooks call: session-start, check-state and check-commit (plain output and
// exit status, for scripts) and hook (Claude Code's contract, hook_command.h). They read the
// state database directly: a hook runs on every agent event and must neither start a daemon
// in every repository nor wait for one (README.md).
#pragma once

#include <CLI/CLI.hpp>

#include "cli/cli_context.h"
#include "cli/verb.h"

namespace harness {

void register_hook_verbs(CLI::App& app, CliContext& ctx, Action& action);

}  // namespace harness
