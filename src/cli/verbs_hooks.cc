#include "cli/verbs_hooks.h"

#include <iostream>
#include <memory>

#include "cli/git_head.h"
#include "cli/hook_command.h"
#include "cli/hooks.h"
#include "cli/init_command.h"
#include "cli/mcp_command.h"
#include "cli/worker_id.h"
#include "store/open_store.h"
#include "store/state_dir.h"

namespace harness {

namespace fs = std::filesystem;

namespace {

// Null when the worktree has no state yet.
std::unique_ptr<BatchingStore> open_existing_store(const fs::path& worktree) {
  return open_store({worktree, StoreConfig::Use::kRead}).store;
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

void add_mcp(CLI::App& app, CliContext& ctx, Action& action) {
  add_verb(app, "mcp",
           "MCP server on stdio for this worktree's daemon (tools: claim, complete, fail, "
           "release, heartbeat, status, show, add); docs/agents.md",
           action, [&ctx] {
             return run_mcp_server(ctx.worktree(), ctx.client(), HARNESS_VERSION, std::cin,
                                   std::cout);
           });
}

void add_init(CLI::App& app, CliContext& ctx, Action& action) {
  auto options = std::make_shared<InitOptions>();
  CLI::App* verb = add_verb(
      app, "init",
      "Set this repository up for an agent: hooks in .claude/settings.json, the MCP server in "
      ".mcp.json (codex: .codex/config.toml) and the agent's loop in CLAUDE.md (codex: "
      "AGENTS.md); keeps everything already there, changes nothing the second time",
      action,
      [&ctx, options] { return run_init(ctx.worktree(), *options, harness_command(), std::cout); });
  verb->add_option("--agent", options->agent, "claude (default) or codex")
      ->check(CLI::IsMember({"claude", "codex"}));
  verb->add_flag("--dry-run", options->dry_run, "Print the unified diff; write nothing");
  verb->add_flag("--uninstall", options->uninstall, "Remove exactly what init adds");
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
  add_mcp(app, ctx, action);
  add_init(app, ctx, action);
}

}  // namespace harness
