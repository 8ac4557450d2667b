#include "cli/status_report.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include "core/error.h"
#include "log/trajectory_reader.h"
#include "store/pg_event_log.h"
#include "store/state_dir.h"
#include "view/status_json.h"

namespace harness {

namespace {

template <typename Response>
const Response& response_or_throw(const std::variant<ErrorAnswer, Response>& answer) {
  if (const auto* error = std::get_if<ErrorAnswer>(&answer)) throw Error::io(error->message);
  return std::get<Response>(answer);
}

}  // namespace

StatusSnapshot fetch_status(const ClientOptions& client) {
  StatusSnapshot snapshot;
  snapshot.daemon = response_or_throw(call(client, StatusRequest{}));
  if (snapshot.daemon.tasks)
    snapshot.workflow = response_or_throw(call(client, GetStateRequest{})).workflow;
  return snapshot;
}

EventSource::EventSource(const std::filesystem::path& worktree)
    : trajectory_(trajectory_path(worktree)), start_(file_size_or_zero(trajectory_)) {
  if (StoreLocation location = choose_store_location(worktree); location.is_postgres())
    fleet_ = std::move(location);
}

std::vector<std::string> EventSource::last_lines(std::size_t count) const {
  if (fleet_) return last_pg_events({fleet_->url, fleet_->plan}, count);
  return read_last_lines(trajectory_, count);
}

void EventSource::follow(const std::function<bool(std::string_view)>& line,
                         std::stop_token stop) const {
  if (fleet_) return follow_pg_events({fleet_->url, fleet_->plan}, line, stop);
  follow_lines(trajectory_, start_, line, stop);
}

std::vector<TrajectoryEvent> read_recent_events(const EventSource& source, std::size_t max_lines) {
  std::vector<TrajectoryEvent> events;
  for (const std::string& line : source.last_lines(max_lines))
    if (auto event = parse_trajectory_event(line)) events.push_back(std::move(*event));
  return events;
}

Json status_report_json(const StatusView& view, const StatusResponse& daemon) {
  Json j = status_view_to_json(view);
  const StatusResponse::Commits& c = daemon.commits;
  const StatusResponse::Commands& n = daemon.commands;
  j["commits"] = {{"batches", c.batches}, {"mutations", c.mutations}, {"syncs", c.syncs}};
  j["commands"] = {{"running", n.running}, {"queued", n.queued}, {"max", n.max}};
  j["waiting_claims"] = daemon.waiting_claims;
  return j;
}

std::string daemon_activity(const StatusResponse& daemon) {
  std::string text;
  if (daemon.commands.running + daemon.commands.queued > 0)
    text = std::to_string(daemon.commands.running) + " commands running, " +
           std::to_string(daemon.commands.queued) + " queued";
  if (daemon.waiting_claims > 0)
    text += (text.empty() ? "" : "; ") + std::to_string(daemon.waiting_claims) +
            " claims waiting for work";
  return text.empty() ? text : "daemon: " + text;
}

std::optional<TerminalSize> terminal_size(int fd) {
  if (::isatty(fd) != 1) return std::nullopt;
  TerminalSize size;
  winsize ws{};
  if (::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) {
    size.columns = ws.ws_col;
    size.rows = ws.ws_row;
  }
  return size;
}

}  // namespace harness
