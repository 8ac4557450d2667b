// `harness worktree add|list|remove|bind|unbind`: a git worktree per agent, bound to the plan
// and daemon of the worktree it was made from (DESIGN §8c, README "Four agents, four
// worktrees, one plan").
#pragma once

#include <iosfwd>

#include <CLI/CLI.hpp>

#include "cli/cli_context.h"
#include "cli/verb.h"

namespace harness {

void register_worktree_verbs(CLI::App& app, CliContext& ctx, Action& action);

// For `status`: one line per running task claimed from a worktree other than the plan's own
// ("  T held by W in PATH"); nothing when there is none. Asks the daemon for the running tasks.
void print_claims_from_other_worktrees(CliContext& ctx, std::ostream& out);

}  // namespace harness
