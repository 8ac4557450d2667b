// The daemon's log: what an operator should know about a running daemon (it started or
// stopped, its socket went away, its storage or a helper failed), one line per message with
// the time (UTC, microseconds), the process id and the level:
//   2026-12-06T18:00:00.123456+00:00 harness[4242] info: daemon 4242 stopped
// on stderr, which is daemon.log for a daemon the CLI started (cli/daemon_spawn.h). Nothing on
// the request path logs. What the CLI tells its user is not a log: it stays a plain
// "harness: ..." line on stderr.
#pragma once

#include <string_view>

namespace harness {

// Each writes one line, "message" or "message: reason", and flushes it. The reason apart, so
// that an exception's what() is logged without building a string first (it may be bad_alloc).
// Thread-safe; lines from concurrent calls never mix. Never throws: a line that cannot be
// written is lost rather than stopping the daemon.
void log_info(std::string_view message, std::string_view reason = {});
void log_warning(std::string_view message, std::string_view reason = {});
void log_error(std::string_view message, std::string_view reason = {});

}  // namespace harness
