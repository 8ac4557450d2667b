// The plan verbs beside import and validate (verbs_state.h): `plan template` (an example plan
// in each format), `plan graph` (the live plan's DAG) and `plan export` (the live plan as a
// plan file that imports again). README, "Plan formats".
#pragma once

#include <CLI/CLI.hpp>

#include "cli/cli_context.h"
#include "cli/verb.h"

namespace harness {

// Adds them under the `plan` group, which must exist.
void register_plan_output_verbs(CLI::App& app, CliContext& ctx, Action& action);

}  // namespace harness
