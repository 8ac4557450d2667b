// The verbs that run and stop the daemon: shutdown, daemon and reaper (hidden: the daemon
// starts it) (README.md).
#pragma once

#include <CLI/CLI.hpp>

#include "cli/cli_context.h"
#include "cli/verb.h"

namespace harness {

void register_daemon_verbs(CLI::App& app, CliContext& ctx, Action& action);

}  // namespace harness
