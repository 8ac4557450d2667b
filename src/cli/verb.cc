#include "cli/verb.h"

namespace harness {

CLI::App* add_verb(CLI::App& parent, const std::string& name, const std::string& help,
                   Action& action, Action run) {
  CLI::App* verb = parent.add_subcommand(name, help);
  verb->callback([&action, run = std::move(run)] { action = run; });
  return verb;
}

namespace {

// The group that `path` names before its last word: the app itself for a one-word path.
CLI::App& group_of(CLI::App& app, std::string_view path) {
  CLI::App* group = &app;
  for (std::size_t space; (space = path.find(' ')) != std::string_view::npos;
       path.remove_prefix(space + 1)) {
    group = group->get_subcommand(std::string(path.substr(0, space)));
  }
  return *group;
}

std::string_view last_word(std::string_view path) { return path.substr(path.rfind(' ') + 1); }

void add_command_verb(CLI::App& app, const CommandVerb& command, CliContext& ctx, Action& action) {
  CLI::App* verb =
      group_of(app, command.path)
          .add_subcommand(std::string(last_word(command.path)), std::string(command.help));
  verb->callback([&ctx, &action, verb, run = command.run] {
    action = [&ctx, verb, run] { return run(ctx, *verb); };
  });
  if (command.add_options) command.add_options(*verb);
}

}  // namespace

void add_command_verbs(CLI::App& app, std::span<const CommandVerb> verbs, CliContext& ctx,
                       Action& action) {
  for (const CommandVerb& command : verbs) add_command_verb(app, command, ctx, action);
}

}  // namespace harness
