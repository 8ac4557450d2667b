// The hot path of the request parser. Nearly every request a busy daemon reads is a claim or a
// complete: one flat JSON object of a few plain strings. The full parser builds a JSON document
// and then reads its fields, which costs far more than the request itself; this reads such a
// line in one pass, without allocating for anything but the request's own strings.
//
// It only ever accepts: a line it does not take entirely, valid or not, is left to the full
// parser (parse_request_fully), which is the one that explains what is wrong with a request.
// What it accepts, the full parser turns into the same request (the tests and the request
// fuzzer check that).
#pragma once

#include <optional>
#include <string_view>

#include "protocol/commands.h"

namespace harness {

// The request `line` holds when it is one JSON object whose values are all plain strings
// (printable ASCII without escapes), true, false or null, with no key twice, and names
// ping, get_state, status, shutdown, task_claim or task_complete with valid fields; nullopt
// for any other line.
std::optional<Request> parse_flat_request(std::string_view line);

}  // namespace harness
