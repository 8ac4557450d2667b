#include "cli/cli.h"

#include <iostream>
#include <optional>

#include <CLI/CLI.hpp>

#include "cli/cli_context.h"
#include "cli/verb.h"
#include "cli/verbs_command.h"
#include "cli/verbs_daemon.h"
#include "cli/verbs_hooks.h"
#include "cli/verbs_state.h"
#include "cli/verbs_task.h"
#include "cli/verbs_view.h"
#include "cli/verbs_worktree.h"

namespace harness {

namespace {

void set_up_app(CLI::App& app, GlobalFlags& flags) {
  app.require_subcommand(1);
  app.set_version_flag("--version", "harness " HARNESS_VERSION);
  // --socket and --worktree may also follow the verb (harness daemon --socket S).
  app.fallthrough();
  app.footer(
      "Environment: HARNESS_SOCKET (daemon socket), HARNESS_WORKTREE (worktree), HARNESS_TIMEOUT "
      "(seconds to wait for a starting daemon, default 10), HARNESS_ANY_WORKTREE=1 (accept a "
      "daemon serving another worktree), HARNESS_WORKER_ID / HARNESS_WORKER_ID_FILE (worker "
      "identity; by default one per agent process), HARNESS_CONTAINER_ID (with "
      "HARNESS_HOST_ROOT, HARNESS_CONTAINER_ROOT: a started daemon runs exec and git in that "
      "Docker container).");
  app.add_option("--socket", flags.socket,
                 "Daemon socket (default: $HARNESS_SOCKET or one per worktree)");
  app.add_option("--worktree", flags.worktree,
                 "Worktree (default: $HARNESS_WORKTREE, the git top level, or cwd)");
  app.add_flag("--any-worktree", flags.any_worktree,
               "Talk to the daemon on the socket even if it serves another worktree "
               "(default: refuse; also HARNESS_ANY_WORKTREE=1)");
}

// The verb path of `args` ("task bogus") when its last word names no subcommand of the app
// (or of the verb) before it: CLI11 itself would only say "A subcommand is required". The
// first word that is neither an option nor the value of --socket/--worktree is the verb.
struct UnknownVerb {
  std::string path;
  CLI::App* parent;
};

std::optional<UnknownVerb> unknown_verb(CLI::App& app, const std::vector<std::string>& args) {
  CLI::App* parent = &app;
  std::string path;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--socket" || args[i] == "--worktree") {
      ++i;
      continue;
    }
    if (args[i].empty() || args[i].front() == '-') continue;
    path += (path.empty() ? "" : " ") + args[i];
    auto named =
        parent->get_subcommands([&](const CLI::App* sub) { return sub->check_name(args[i]); });
    if (named.empty()) return UnknownVerb{path, parent};
    parent = named.front();
    if (parent->get_subcommands([](const CLI::App*) { return true; }).empty()) break;
  }
  return std::nullopt;
}

std::string verb_list(CLI::App& app) {
  std::string list;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; }))
    list += (list.empty() ? "" : ", ") + sub->get_name();
  return list;
}

int report_unknown_verb(const UnknownVerb& unknown) {
  std::cerr << "harness: unknown command '" << unknown.path
            << "'\nCommands: " << verb_list(*unknown.parent)
            << "\nRun 'harness --help' for more.\n";
  return 2;
}

// Parses the harness part of the command line; returns the exit status when parsing ends the
// call (help, version, a usage error), nothing when the verb is to run.
std::optional<int> parse(CLI::App& app, const SplitArgs& split) {
  // CLI11 consumes from the back.
  std::vector<std::string> reversed(split.harness.rbegin(), split.harness.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    const std::string hint = command_hint(split);
    if (dynamic_cast<const CLI::ExtrasError*>(&e) && !hint.empty())
      std::cerr << "harness: " << hint << "\n";
    return 2;
  }
  return std::nullopt;
}

// Runs the verb: 2 for a usage error it finds, 1 for any other failure.
int run_verb(const Action& action) {
  try {
    return action();
  } catch (const CLI::ValidationError& e) {
    std::cerr << "harness: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "harness: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace

int run_cli(const std::vector<std::string>& args) {
  CLI::App app{
      "harness: many agents, one plan. Coordinates parallel workers over a DAG of tasks in one git "
      "worktree.",
      "harness"};
  CliContext ctx;
  set_up_app(app, ctx.flags);
  const SplitArgs split = split_command(args);
  Action action;
  // In the order --help lists them.
  register_state_verbs(app, ctx, action);
  register_view_verbs(app, ctx, action);
  register_task_verbs(app, ctx, action);
  register_command_verbs(app, ctx, action, split);
  register_daemon_verbs(app, ctx, action);
  register_hook_verbs(app, ctx, action);
  register_worktree_verbs(app, ctx, action);
  if (auto unknown = unknown_verb(app, split.harness)) return report_unknown_verb(*unknown);
  if (auto status = parse(app, split)) return *status;
  return run_verb(action);
}

}  // namespace harness
