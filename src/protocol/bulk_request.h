// Request lines that carry a whole plan: update_state, and plan_import with its tasks inline.
// They may be far longer than any other request (docs/protocol.md, "Limits and bad input"), so
// they are read differently: the daemon must know one is coming before the line ends (its
// first member names the command), and parses it without ever holding the plan as one JSON
// document.
#pragma once

#include <optional>
#include <string_view>

#include "protocol/commands.h"

namespace harness {

// The bulk command `line_start` (the beginning of a request line) names in its first member:
// "update_state" or "plan_import" when the line starts `{"command": "update_state"` or
// `{"command": "plan_import"` (with any whitespace JSON allows between the tokens); nullopt for
// any other beginning, and when `line_start` ends before the command's name does.
std::optional<std::string_view> bulk_command_of(std::string_view line_start);

// Parses a request line that bulk_command_of accepts, as parse_request does, but reads each task
// of the plan (update_state's `updates.tasks`, plan_import's `tasks` list or `tasks.tasks`) into
// its Task as soon as it is parsed, so the plan is never held twice. Gives the same request as
// parse_request for every valid line. Throws Error::invalid as parse_request does; of a line
// with several problems it may name another one (a bad task is refused as soon as it is read).
Request parse_bulk_request(std::string_view line);

}  // namespace harness
