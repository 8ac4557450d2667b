// The reply envelope (docs/protocol.md): every reply is one JSON object on one line,
// {"status":"ok","data":DATA} or {"status":"error","message":TEXT}.
#pragma once

#include <string>
#include <string_view>

#include "core/json.h"

namespace harness {

// {"status":"ok","data":<data>}, without newline. Invalid UTF-8 in strings (command output) is
// replaced, never a failure.
std::string ok_reply(const Json& data);
// As ok_reply, for data that is already serialised JSON (large workflows are written once).
std::string ok_reply_serialized(std::string_view data_json);
// The envelope ok_reply_serialized puts around the data, for an encoder that writes the data in
// place (reply_encoder.h): kOkReplyHead + data + kOkReplyTail.
inline constexpr std::string_view kOkReplyHead = R"({"status":"ok","data":)";
inline constexpr std::string_view kOkReplyTail = "}";
// {"status":"error","message":<message>}, without newline; never throws.
std::string error_reply(std::string_view message);

// A reply line as a client reads it.
struct ReplyEnvelope {
  bool ok = false;
  Json data;            // when ok
  std::string message;  // when not
};
// Throws Error::io naming what is wrong when `line` is not an envelope (a daemon of another
// protocol, a truncated line).
ReplyEnvelope parse_reply(std::string_view line);

}  // namespace harness
