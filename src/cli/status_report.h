// What `harness status`, its --watch and `harness web` read to build a StatusView
// (view/status_view.h): the workflow and the daemon's counters from the daemon, and the last
// events from the trajectory file.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "cli/client.h"
#include "core/json.h"
#include "core/task.h"
#include "protocol/responses.h"
#include "view/status_view.h"
#include "view/trajectory_event.h"

namespace harness {

struct StatusSnapshot {
  std::optional<Workflow> workflow;  // nullopt: no active workflow
  StatusResponse daemon;             // commit and command counters, waiting claims
};

// Asks the daemon for its counters and the workflow (two requests). Throws as call() does, and
// Error with the daemon's message when it answers with an error.
StatusSnapshot fetch_status(const ClientOptions& client);

// The events on the last `max_lines` lines of `trajectory`, oldest first; lines that are not
// events are skipped.
std::vector<TrajectoryEvent> read_recent_events(const std::filesystem::path& trajectory,
                                                std::size_t max_lines = kViewEventLines);

// status_view_to_json(view) with the daemon's "commits", "commands" and "waiting_claims".
Json status_report_json(const StatusView& view, const StatusResponse& daemon);

// One line on what the daemon is doing besides tasks, "" when nothing: "daemon: 2 commands
// running, 1 queued; 3 claims waiting for work".
std::string daemon_activity(const StatusResponse& daemon);

// The columns and rows of the terminal on `fd`; nullopt when it is not a terminal.
struct TerminalSize {
  std::size_t columns = 80, rows = 24;
};
std::optional<TerminalSize> terminal_size(int fd);

}  // namespace harness
