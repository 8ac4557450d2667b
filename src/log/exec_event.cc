#include "log/exec_event.h"

namespace harness {
namespace {

bool is_continuation_byte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// A UTF-8 sequence is at most four bytes, so a valid cut point is at most three bytes back.
constexpr std::size_t kMaxContinuationBytes = 3;

}  // namespace

std::string clip_for_log(std::string_view s, std::size_t limit) {
  if (s.size() <= limit) return std::string(s);
  // s[limit] is the first byte dropped; if it continues a sequence, that sequence started
  // before the cut and must go too.
  std::size_t cut = limit;
  while (cut > 0 && limit - cut < kMaxContinuationBytes && is_continuation_byte(s[cut])) --cut;
  if (is_continuation_byte(s[cut])) cut = limit;  // not UTF-8 at all: no boundary to respect
  return std::string(s.substr(0, cut));
}

}  // namespace harness
