// What `harness web` runs in the harness-web program (cli/web_launch.h): the dashboard server
// for the daemon of this worktree, until SIGINT, SIGTERM or SIGHUP.
#pragma once

#include "cli/cli_context.h"
#include "cli/web_launch.h"

namespace harness {

// Prints the dashboard's URL (with its token) on stdout and serves; returns the exit status.
int serve_dashboard(CliContext& ctx, const WebArgs& args);

}  // namespace harness
