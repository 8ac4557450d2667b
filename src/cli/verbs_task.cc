#include "cli/verbs_task.h"

#include "cli/git_head.h"
#include "cli/worker_id.h"

namespace harness {

namespace {

int run_claim(CliContext& ctx, const CLI::App&) {
  return print_envelope(call(ctx.client(), ClaimRequest{resolve_worker_id()}));
}

void add_complete_options(CLI::App& verb) {
  verb.add_option("--id")->description("Task id")->type_name("TEXT")->required();
}

// The commit the task's work ends at goes with it, so that the check-commit hook can tell
// whether the work was committed.
int run_complete(CliContext& ctx, const CLI::App& verb) {
  const CompleteRequest request{verb.get_option("--id")->as<std::string>(), resolve_worker_id(),
                                current_head(ctx.worktree())};
  return print_envelope(call(ctx.client(), request));
}

constexpr CommandVerb kCommandVerbs[] = {
    {"task claim", "Claim the next ready task for this worker (prints the reply envelope)",
     run_claim},
    {"task complete", "Complete a task this worker holds (prints the reply envelope)", run_complete,
     add_complete_options},
};

}  // namespace

void register_task_verbs(CLI::App& app, CliContext& ctx, Action& action) {
  app.add_subcommand("task", "Claim and complete tasks")->require_subcommand(1);
  add_command_verbs(app, kCommandVerbs, ctx, action);
}

}  // namespace harness
