// The verbs that show what the fleet does: status (and --watch), log (filters, -f) and web
// (README, "Watching the fleet").
#pragma once

#include <CLI/CLI.hpp>

#include "cli/cli_context.h"
#include "cli/verb.h"

namespace harness {

void register_view_verbs(CLI::App& app, CliContext& ctx, Action& action);

}  // namespace harness
