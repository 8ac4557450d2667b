// The verbs that run, stop and watch the daemon: shutdown, daemon, reaper (hidden: the daemon
// starts it) and log (README.md).
#pragma once

#include <CLI/CLI.hpp>

#include "cli/cli_context.h"
#include "cli/verb.h"

namespace harness {

void register_daemon_verbs(CLI::App& app, CliContext& ctx, Action& action);

}  // namespace harness
