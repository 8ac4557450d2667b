// What `harness status`, its --watch and `harness web` read to build a StatusView
// (view/status_view.h): the workflow and the daemon's counters from the daemon, and the last
// events from the trajectory file (with PostgreSQL, the whole fleet's from the database).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "cli/client.h"
#include "core/json.h"
#include "core/task.h"
#include "protocol/responses.h"
#include "store/store_location.h"
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

// Where a worktree's events are read: its trajectory file, or with PostgreSQL the whole
// fleet's, from the database (store/pg_event_log.h).
class EventSource {
 public:
  explicit EventSource(const std::filesystem::path& worktree);
  // The last `count` lines, oldest first.
  std::vector<std::string> last_lines(std::size_t count) const;
  // Calls `line` for each line added after this source was made, until it returns false or
  // `stop` is requested.
  void follow(const std::function<bool(std::string_view)>& line, std::stop_token stop = {}) const;

 private:
  std::filesystem::path trajectory_;
  std::uint64_t start_ = 0;             // the file's size when the source was made
  std::optional<StoreLocation> fleet_;  // PostgreSQL
};

// The events on the last `max_lines` lines of `source`, oldest first; lines that are not
// events are skipped.
std::vector<TrajectoryEvent> read_recent_events(const EventSource& source,
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
