// `harness status --watch`: the status view, redrawn in place whenever an event is written
// (followed as `harness log -f` follows them: the trajectory file with inotify, or the fleet's
// events in PostgreSQL), and once a second for the lease countdowns, until SIGINT, SIGTERM or
// SIGHUP.
#pragma once

#include <filesystem>

#include "cli/client.h"

namespace harness {

// On a terminal, each frame replaces the last (cursor hidden meanwhile, shown again on exit)
// and is cut to the screen's size; elsewhere each frame is printed after the last, separated
// by a blank line, and only when an event came. With `json`, one JSON object a line per
// event instead (status --json's). Events that come while a frame is being made are drawn
// together in the next one. A daemon that stops answering is said on the frame, which keeps
// the last state. Returns the exit status: 0 when interrupted.
int watch_status(const ClientOptions& client, bool json);

}  // namespace harness
