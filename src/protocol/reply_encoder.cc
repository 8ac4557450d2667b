#include "protocol/reply_encoder.h"

#include <algorithm>
#include <array>
#include <type_traits>

#include "core/base64.h"
#include "protocol/envelope.h"

namespace harness {
namespace {

constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";  // U+FFFD
// The most bytes one input byte can take encoded ("\u0000").
constexpr std::size_t kMaxEncodedPerByte = 6;
// Real signal names are a dozen bytes; this only keeps the size bound exact for any name.
constexpr std::size_t kSignalNameBudget = 64;

// Printable ASCII other than '"' and '\': bytes that stand for themselves in a JSON string.
bool is_plain(char c) {
  const auto b = static_cast<unsigned char>(c);
  return b >= 0x20 && b < 0x80 && c != '"' && c != '\\';
}

// The UTF-8 character at the start of `s` (non-empty): its length, and whether it is well
// formed (Unicode Table 3-7: no overlong forms, no surrogates, nothing above U+10FFFF). An
// ill-formed one is its maximal subpart: the longest start of a well-formed sequence, or the
// single byte that cannot start one.
struct Utf8Char {
  std::size_t length;
  bool well_formed;
};

Utf8Char next_char(std::string_view s) {
  const auto lead = static_cast<unsigned char>(s[0]);
  if (lead < 0x80) return {1, true};
  std::size_t length = 0;
  // Only the second byte's range depends on the lead; later ones are always 80..BF.
  unsigned char low = 0x80, high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // overlong
    if (lead == 0xED) high = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;   // overlong
    if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
  } else {
    return {1, false};
  }
  for (std::size_t i = 1; i < length; ++i) {
    if (i == s.size()) return {i, false};
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < low || b > high) return {i, false};
    low = 0x80;
    high = 0xBF;
  }
  return {length, true};
}

// The escape of an ASCII byte that is not plain, spelled as nlohmann spells it.
std::string_view escape(char c, std::array<char, kMaxEncodedPerByte>& scratch) {
  switch (c) {
    case '"':
      return "\\\"";
    case '\\':
      return "\\\\";
    case '\b':
      return "\\b";
    case '\f':
      return "\\f";
    case '\n':
      return "\\n";
    case '\r':
      return "\\r";
    case '\t':
      return "\\t";
    default:
      break;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  const auto b = static_cast<unsigned char>(c);
  scratch = {'\\', 'u', '0', '0', kHex[b >> 4], kHex[b & 0xF]};
  return {scratch.data(), scratch.size()};
}

// What the reply can take at most, reserved up front so that building it never copies it.
// Reserving this bound instead of the exact size costs no resident memory: the pages of a
// large allocation are only backed once written.
std::size_t reply_capacity(const CommandResponse& r, std::size_t stream_cap) {
  const auto stream = [stream_cap](const std::string& text) {
    return std::min(stream_cap, text.size() * kMaxEncodedPerByte);
  };
  return stream(r.stdout_bytes) + stream(r.stderr_bytes) + kCommandReplyOverhead + 1;  // + '\n'
}

void append_bool(std::string& out, bool value) { out += value ? "true" : "false"; }

}  // namespace

bool append_json_text(std::string& out, std::string_view text, std::size_t budget) {
  std::array<char, kMaxEncodedPerByte> scratch;
  while (!text.empty()) {
    // Runs of plain ASCII, the bulk of most output, are copied whole.
    const std::size_t run = std::find_if_not(text.begin(), text.end(), is_plain) - text.begin();
    const std::size_t copied = std::min(run, budget);
    out.append(text.substr(0, copied));
    budget -= copied;
    text.remove_prefix(copied);
    if (copied < run) return false;  // the budget ran out inside the run
    if (text.empty()) return true;

    const Utf8Char ch = next_char(text);
    std::string_view encoded = text.substr(0, ch.length);
    if (!ch.well_formed) {
      encoded = kReplacementCharacter;
    } else if (ch.length == 1) {
      encoded = escape(text[0], scratch);
    }
    if (encoded.size() > budget) return false;
    out.append(encoded);
    budget -= encoded.size();
    text.remove_prefix(ch.length);
  }
  return true;
}

namespace {

// Appends the fields after the two streams, up to the end of the line. `cut` says whether a
// stream was cut while it was encoded.
void append_reply_tail(std::string& line, const CommandResponse& result, bool cut) {
  if (result.signal_name) {
    line += R"(,"signal_name":")";
    append_json_text(line, *result.signal_name, kSignalNameBudget);
    line += '"';
  }
  line += R"(,"duration_ms":)";
  line += std::to_string(result.duration_ms);
  line += R"(,"timed_out":)";
  append_bool(line, result.timed_out);
  line += R"(,"truncated":)";
  append_bool(line, cut || result.truncated);
}

}  // namespace

std::string command_reply(const CommandResponse& result, std::size_t stream_cap) {
  std::string line;
  line.reserve(reply_capacity(result, stream_cap));
  line += kOkReplyHead;
  line += R"({"returncode":)";
  line += std::to_string(result.returncode);
  line += R"(,"stdout":")";
  const bool whole_stdout = append_json_text(line, result.stdout_bytes, stream_cap);
  line += R"(","stderr":")";
  const bool whole_stderr = append_json_text(line, result.stderr_bytes, stream_cap);
  line += '"';
  append_reply_tail(line, result, !whole_stdout || !whole_stderr);
  line += '}';
  line += kOkReplyTail;
  return line;
}

std::string command_reply_base64(const CommandResponse& result) {
  std::string line;
  line.reserve(base64_size(result.stdout_bytes.size()) + base64_size(result.stderr_bytes.size()) +
               kCommandReplyOverhead + 1);  // + '\n'
  line += kOkReplyHead;
  line += R"({"returncode":)";
  line += std::to_string(result.returncode);
  line += R"(,"stdout":")";
  append_base64(line, result.stdout_bytes);
  line += R"(","stderr":")";
  append_base64(line, result.stderr_bytes);
  line += '"';
  append_reply_tail(line, result, false);
  line += R"(,"encoding":"base64"})";
  line += kOkReplyTail;
  return line;
}

namespace {

// ClaimResponse::to_json's text, written directly: a claim carries a whole task and is on the
// hot path.
void append_claim_data(std::string& line, const ClaimResponse& r) {
  line += R"({"task":)";
  if (r.task)
    append_task_json(line, *r.task);
  else
    line += "null";
  line += r.is_retry ? R"(,"is_retry":true)" : R"(,"is_retry":false)";
  line += r.is_reclaim ? R"(,"is_reclaim":true)" : R"(,"is_reclaim":false)";
  line += r.plan_complete ? R"(,"plan_complete":true)" : R"(,"plan_complete":false)";
  if (r.task) {
    line += R"(,"lease":)";
    append_json_string(line, r.lease);
    line += R"(,"attempt":)";
    line += std::to_string(r.attempt);
    line += R"(,"lease_expires_at":)";
    if (r.task->lease_expires_at) {
      line += '"';
      line += format_iso8601(*r.task->lease_expires_at);
      line += '"';
    } else {
      line += "null";
    }
  }
  line += '}';
}

std::string claim_reply(const ClaimResponse& r) {
  std::string line(kOkReplyHead);
  append_claim_data(line, r);
  line += kOkReplyTail;
  return line;
}

std::string complete_reply(const CompleteResponse& r) {
  std::string line(kOkReplyHead);
  line += R"({"task_id":)";
  append_json_string(line, r.task_id);
  if (r.next) {
    line += R"(,"next":)";
    append_claim_data(line, *r.next);
  }
  line += '}';
  line += kOkReplyTail;
  return line;
}

template <typename Response>
std::string encode(const Response& r) {
  if constexpr (std::is_same_v<Response, ErrorAnswer>)
    return error_reply(r.message);
  else if constexpr (std::is_same_v<Response, ClaimResponse>)
    return claim_reply(r);
  else if constexpr (std::is_same_v<Response, CompleteResponse>)
    return complete_reply(r);
  else if constexpr (std::is_base_of_v<CommandResponse, Response>)
    return r.base64 ? command_reply_base64(r) : command_reply(r);
  else
    return ok_reply(r.to_json());
}

}  // namespace

std::string encode_answer(const Answer& answer) {
  return std::visit([](const auto& r) { return encode(r); }, answer);
}

}  // namespace harness
