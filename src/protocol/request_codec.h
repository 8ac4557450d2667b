// Request lines (docs/protocol.md): one JSON object {"command": NAME, ...fields} per line.
// The daemon parses them; a client encodes them. Both are driven by the command table.
#pragma once

#include <string>
#include <string_view>

#include "protocol/commands.h"

namespace harness {

// Parses one request line (without its newline). Throws Error::invalid, e.g.
// "invalid JSON at byte 3: ...", "request must be a JSON object", "unknown command 'x'",
// "missing field 'worker_id'" (requests.h has the field rules).
Request parse_request(std::string_view line);
// The same through the full JSON parser alone, which parse_request uses for every line the hot
// path (flat_request.h) does not take: the oracle that hot path is tested against.
Request parse_request_fully(std::string_view line);
// The request a parsed request line holds; throws as parse_request_fully does.
Request request_from_json(const Json& request);

// The request line for `request`, without newline: what parse_request reads back as it.
std::string encode_request(const Request& request);

}  // namespace harness
