// How a verb of the CLI is declared and prints its reply. The verb groups (verbs_*.h) are
// built from these pieces; cli.cc parses the command line and runs the one verb it names.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "cli/cli_context.h"
#include "core/json.h"

namespace harness {

// What the verb named on the command line does, once the whole line has parsed: nothing runs
// before then. Returns the exit status. Throws what the verb throws (cli.cc maps it).
using Action = std::function<int()>;

// Adds verb `name` under `parent` (the app or a verb group such as `task`); when the command
// line names it, `action` becomes `run`. Returns the verb, for its options.
CLI::App* add_verb(CLI::App& parent, const std::string& name, const std::string& help,
                   Action& action, Action run);

// A verb that maps one to one onto a protocol command: it builds the request, sends it and
// prints the reply, all in `run`, which reads the verb's options (declared by `add_options`,
// when it has any) back from `verb`.
struct CommandVerb {
  std::string_view path;  // the words after `harness`: "ping", "task claim"
  std::string_view help;
  int (*run)(CliContext& ctx, const CLI::App& verb);
  void (*add_options)(CLI::App& verb) = nullptr;
};

// Adds each of `verbs` under `app`, in order. The groups a path names before its last word
// ("task" of "task claim") must exist already.
void add_command_verbs(CLI::App& app, std::span<const CommandVerb> verbs, CliContext& ctx,
                       Action& action);

// Prints the whole reply envelope on one line; returns 0 for "ok", 1 for "error".
int print_envelope(const Json& reply);

// For verbs that print only the reply's data: when the reply is an error, says so on stderr
// and returns true.
bool report_error(const Json& reply);

}  // namespace harness
