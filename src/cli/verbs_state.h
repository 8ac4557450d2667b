// The verbs that read and replace the workflow: ping, get-state, update-state and
// plan import (README.md).
#pragma once

#include <CLI/CLI.hpp>

#include "cli/cli_context.h"
#include "cli/verb.h"

namespace harness {

void register_state_verbs(CLI::App& app, CliContext& ctx, Action& action);

}  // namespace harness
