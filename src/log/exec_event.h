// Helpers for the trajectory events that describe an `exec` or `git` run.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace harness {

// The most bytes of each output stream an exec event carries (docs/protocol.md).
constexpr std::size_t kExecEventStreamLimit = 4096;

// Returns the first at most `limit` bytes of `s`. When the cut would split a UTF-8 sequence it
// moves back to the start of that sequence, so valid UTF-8 stays valid (the log is JSON).
// Bytes that are not valid UTF-8 are cut at `limit` as they are; the writer replaces them.
std::string clip_for_log(std::string_view s, std::size_t limit = kExecEventStreamLimit);

}  // namespace harness
