// How a verb of the CLI is declared and prints its reply. The verb groups (verbs_*.h) are
// built from these pieces; cli.cc parses the command line and runs the one verb it names.
#pragma once

#include <functional>
#include <iostream>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include <CLI/CLI.hpp>

#include "cli/cli_context.h"
#include "cli/client.h"
#include "protocol/commands.h"
#include "protocol/envelope.h"

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

// Prints the answer as the whole reply envelope on one line; returns 0 for a response, 1 for an
// error.
template <typename Response>
int print_envelope(const std::variant<ErrorAnswer, Response>& answer) {
  if (const auto* error = std::get_if<ErrorAnswer>(&answer)) {
    std::cout << error_reply(error->message) << "\n";
    return 1;
  }
  std::cout << ok_reply(std::get<Response>(answer).to_json()) << "\n";
  return 0;
}

// For verbs that print only the response: the response, or nullptr when the answer is an
// error, which is then said on stderr.
template <typename Response>
const Response* response_or_report(const std::variant<ErrorAnswer, Response>& answer) {
  if (const auto* error = std::get_if<ErrorAnswer>(&answer)) {
    std::cerr << "harness: " << error->message << "\n";
    return nullptr;
  }
  return &std::get<Response>(answer);
}

}  // namespace harness
