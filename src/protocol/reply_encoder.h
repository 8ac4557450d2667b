// Reply lines: the encoding of an Answer (commands.h) as the line the daemon sends. Most go
// through the response's to_json; the replies on the hot path (claim, complete) and the large
// ones (exec and git output, the workflow) are written straight into the line, each tested equal
// to the to_json encoding.
//
// Command output can be any bytes, and JSON can make them six times larger (a control byte
// becomes "\u0000"). So each stream is capped by its size *as encoded in the reply*, not by
// its raw size, and the reply is built without an intermediate JSON document or copy: what a
// command prints can cost the daemon at most its raw capture plus one bounded reply line.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "protocol/commands.h"

namespace harness {

// The most bytes each stream's text takes in a reply, escapes included (quotes excluded).
// Also the raw capture cap: every byte takes at least one byte encoded, so capturing more
// than this could never reach the reply.
constexpr std::size_t kCommandStreamCap = 16 << 20;
// What a reply takes besides its two streams: the envelope, the other fields and a signal
// name (whose encoding is cut to fit, although real ones are a dozen bytes).
constexpr std::size_t kCommandReplyOverhead = 256;

// Appends `text` to `out` as the contents of a JSON string (without the quotes), escaped as
// the rest of the protocol escapes (nlohmann's dump: `"`, `\` and control bytes escaped, other
// UTF-8 as is; each maximal ill-formed UTF-8 subsequence replaced by U+FFFD). Appends at most
// `budget` bytes: it stops before the first character whose encoding would not fit, so the
// result never ends inside a UTF-8 sequence or an escape. Returns true when all of `text` was
// appended, false when the rest was cut.
bool append_json_text(std::string& out, std::string_view text, std::size_t budget);

// The reply line (no newline) for `answer`.
std::string encode_answer(const Answer& answer);

// The whole reply line (no newline) for a command's text-mode response:
//   {"status":"ok","data":{"returncode":N,"stdout":"…","stderr":"…"[,"signal_name":"…"],
//    "duration_ms":N,"timed_out":B,"truncated":B}}
// Each stream keeps at most `stream_cap` encoded bytes; `truncated` is true when a stream was
// cut here or already at capture. The line is at most 2 * stream_cap + kCommandReplyOverhead
// bytes, and its capacity has room for one byte more, so a sender appending the newline does
// not copy it.
std::string command_reply(const CommandResponse& result,
                          std::size_t stream_cap = kCommandStreamCap);

// The same with each stream's raw bytes base64-encoded, whole (nothing is cut here: the capture
// cap, kCommandStreamCap raw bytes, is the only limit), and "encoding":"base64" after
// "truncated". The line is at most 2 * base64_size(kCommandStreamCap) + kCommandReplyOverhead
// bytes.
std::string command_reply_base64(const CommandResponse& result);

}  // namespace harness
