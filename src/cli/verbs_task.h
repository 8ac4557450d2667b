// The verbs a worker takes and finishes tasks with: task claim and task complete (README.md).
#pragma once

#include <CLI/CLI.hpp>

#include "cli/cli_context.h"
#include "cli/verb.h"

namespace harness {

void register_task_verbs(CLI::App& app, CliContext& ctx, Action& action);

}  // namespace harness
