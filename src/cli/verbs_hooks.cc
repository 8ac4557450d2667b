#include "cli/verbs_hooks.h"

#include <iostream>
#include <memory>

#include "cli/git_head.h"
#include "cli/hook_command.h"
#include "cli/hooks.h"
#include "cli/worker_id.h"
#include "store/sqlite_store.h"
#include "store/state_dir.h"

namespace harness {

namespace fs = std::filesystem;

namespace {

// Null when the worktree has no state yet.
std::unique_ptr<SqliteStore> open_existing_store(const fs::path& worktree) {
  const fs::path db = existing_state_db(worktree);
  if (db.empty()) return nullptr;
  return std::make_unique<SqliteStore>(db, SqliteStore::Access::kReadOnly);
}

int print_decision(const HookDecision& d) {
  std::cout << (d.allow ? "allow" : "deny: " + d.reason) << "\n";
  return d.allow ? 0 : 1;
}

int print_session_start(CliContext& ctx) {
  auto store = open_existing_store(ctx.worktree());
  std::cout << session_start_output(store ? store->status_counts() : std::nullopt) << "\n";
  return 0;
}

int print_check_state(CliContext& ctx) {
  auto store = open_existing_store(ctx.worktree());
  return print_decision(check_state(store ? store->status_counts() : std::nullopt));
}

int print_check_commit(CliContext& ctx) {
  auto store = open_existing_store(ctx.worktree());
  if (!store) return print_decision({});
  const std::string worker = resolve_worker_id();
  return print_decision(check_commit(store->load(), store->completion_mark(worker),
                                     current_head(ctx.origin()), worker));
}

void add_hook(CLI::App& app, CliContext& ctx, Action& action) {
  auto event = std::make_shared<std::string>();
  Action run = [&ctx, event] {
    return run_hook(*event, std::cin, std::cout, std::cerr, [&ctx] { return ctx.worktree(); });
  };
  add_verb(app, "hook",
           "Claude Code hook: reads the hook's JSON payload on stdin and answers by Claude "
           "Code's contract (EVENT: session-start, stop, subagent-stop, pre-compact)",
           action, std::move(run))
      ->add_option("event", *event, "session-start, stop, subagent-stop or pre-compact")
      ->required();
}

}  // namespace

void register_hook_verbs(CLI::App& app, CliContext& ctx, Action& action) {
  add_verb(app, "session-start", "Agent hook: report a workflow to resume", action,
           [&ctx] { return print_session_start(ctx); });
  add_verb(app, "check-state", "Agent hook: deny while the workflow has unfinished tasks", action,
           [&ctx] { return print_check_state(ctx); });
  add_verb(app, "check-commit", "Agent hook: deny when the held task's work is not committed",
           action, [&ctx] { return print_check_commit(ctx); });
  add_hook(app, ctx, action);
}

}  // namespace harness
