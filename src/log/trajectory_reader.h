// Reading the trajectory (see trajectory_writer.h) for `harness log`: its last lines, and
// following it as it grows. A line is complete when it ends with '\n'; a torn last line (a
// writer mid-write, or killed) is never returned. Lines are returned as raw text: callers
// parse them and skip the ones that are not JSON.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

namespace harness {

// What read_last_lines did, for tests and benchmarks that check its cost.
struct TailReadStats {
  std::uint64_t bytes_read = 0;
};

// The last n complete lines of `file`, oldest first, without their '\n'. Reads backwards
// from the end in blocks, so the cost depends on the size of those lines, not of the file
// (only a torn tail with no '\n' at all makes it scan further back). A missing file gives an
// empty vector. Throws Error if the file cannot be read. If `stats` is given it is filled in.
std::vector<std::string> read_last_lines(const std::filesystem::path& file, std::size_t n,
                                         TailReadStats* stats = nullptr);

// Calls on_line for each complete line that starts at or after byte offset `from`, in order,
// as the file grows, until on_line returns false or `stop` is requested. Waits for growth with
// inotify on the file's directory; only if inotify is unavailable (or the directory does not
// exist yet) does it poll every 100 ms. The file may not exist yet. When the file is truncated
// below the offset reached, or replaced (renamed over, deleted and created again), it
// continues from offset 0 of the new content; the rest of a replaced file is read first.
// Returns the offset just past the last line delivered, in the file it last read.
// `from` should be a line start, e.g. file_size_or_zero() taken earlier.
// Throws Error on read errors other than the file being absent.
std::uint64_t follow_lines(const std::filesystem::path& file, std::uint64_t from,
                           const std::function<bool(std::string_view)>& on_line,
                           std::stop_token stop);

// The size of `file` in bytes; 0 if it does not exist. Throws Error for other failures.
std::uint64_t file_size_or_zero(const std::filesystem::path& file);

}  // namespace harness
