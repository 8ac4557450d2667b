#include "cli/verbs_view.h"

#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <limits>
#include <memory>
#include <stop_token>
#include <string>
#include <vector>

#include "cli/status_report.h"
#include "cli/status_watch.h"
#include "cli/web_launch.h"
#include "log/trajectory_reader.h"
#include "store/state_dir.h"
#include "view/event_filter.h"
#include "view/status_text.h"

namespace harness {

namespace fs = std::filesystem;

namespace {

// --- status -----------------------------------------------------------------------------------

struct StatusArgs {
  bool json = false;
  bool watch = false;
};

int print_status(CliContext& ctx, const StatusArgs& args) {
  if (args.watch) return watch_status(ctx.client(), args.json);
  const StatusSnapshot snapshot = fetch_status(ctx.client());
  if (!snapshot.workflow) {
    std::cout << (args.json ? "null" : "No active workflow") << "\n";
    return 1;
  }
  const StatusView view =
      compute_status_view(*snapshot.workflow, read_recent_events(EventSource(ctx.worktree())),
                          SystemClock::instance().now());
  if (args.json) {
    std::cout << status_report_json(view, snapshot.daemon)
                     .dump(-1, ' ', false, Json::error_handler_t::replace)
              << "\n";
    return 0;
  }
  TextStyle style;
  style.color = use_color(STDOUT_FILENO);
  if (const auto size = terminal_size(STDOUT_FILENO)) style.width = size->columns;
  std::cout << render_status_text(view, style);
  if (const std::string activity = daemon_activity(snapshot.daemon); !activity.empty())
    std::cout << activity << "\n";
  return 0;
}

void add_status(CLI::App& app, CliContext& ctx, Action& action) {
  auto args = std::make_shared<StatusArgs>();
  CLI::App* verb = add_verb(
      app, "status",
      "Show the plan's progress: counts by state, running tasks with holder, lease left and "
      "attempt, failed tasks with their last error, blocked tasks and by what, throughput and "
      "ETA, the last events ('No active workflow' and exit 1 when none)",
      action, [&ctx, args] { return print_status(ctx, *args); });
  verb->add_flag("--json", args->json, "Print it all as JSON (with --watch: one object a line)");
  verb->add_flag("--watch,-w", args->watch,
                 "Redraw whenever the daemon logs an event, until Ctrl-C");
}

// --- log --------------------------------------------------------------------------------------

struct LogArgs {
  long long tail = 20;
  bool follow = false;
  std::vector<std::string> task_ids, worker_ids, kinds;
  std::string since;
  bool json = false;
  bool text = false;
};

// How `harness log` prints an event: the raw line, or for a person a line with its time.
class LogPrinter {
 public:
  LogPrinter(const EventFilter& filter, bool raw) : filter_(filter), raw_(raw) {}

  // Whether the line is printed, given the filter (lines that are not events pass only when
  // nothing is filtered and lines are printed raw).
  bool shows(std::string_view line, std::optional<TrajectoryEvent>& event) const {
    event = parse_trajectory_event(line);
    if (!event) return raw_ && filter_.empty();
    return filter_.matches(*event);
  }

  void print(std::string_view line, const std::optional<TrajectoryEvent>& event) const {
    if (raw_ || !event) {
      std::cout << line << "\n";
      return;
    }
    std::string time = format_iso8601(event->ts);  // 2026-11-24T10:00:00.123456+00:00
    time = time.substr(0, 10) + " " + time.substr(11, 12) + "Z";
    std::cout << time << "  " << event->kind
              << std::string(event->kind.size() < 12 ? 12 - event->kind.size() : 0, ' ');
    if (!event->task_id.empty()) std::cout << " " << event->task_id;
    if (!event->worker_id.empty()) std::cout << "  by " << event->worker_id;
    if (!event->detail.empty()) std::cout << "  " << event->detail;
    std::cout << "\n";
  }

  bool print_if_shown(std::string_view line) const {
    std::optional<TrajectoryEvent> event;
    if (shows(line, event)) {
      print(line, event);
      std::cout.flush();
    }
    return true;
  }

 private:
  const EventFilter& filter_;
  const bool raw_;
};

constexpr std::size_t kAll = std::numeric_limits<std::size_t>::max();

// The last `count` lines of `source` that `printer` shows (all since the filter's time when
// `count` is kAll), oldest first. Reads further back, doubling, until it has them, has reached
// the filter's `since`, or has read the whole log.
std::vector<std::string> last_shown_lines(const EventSource& source, const LogPrinter& printer,
                                          const EventFilter& filter, std::size_t count) {
  std::size_t want = count == kAll ? 256 : std::max<std::size_t>(count, 256);
  for (;;) {
    std::vector<std::string> lines = source.last_lines(want);
    const bool whole_file = lines.size() < want;
    std::vector<std::string> shown;
    bool reached_since = false;
    for (std::string& line : lines) {
      std::optional<TrajectoryEvent> event;
      if (printer.shows(line, event)) shown.push_back(std::move(line));
      if (event && filter.since && event->ts < *filter.since) reached_since = true;
    }
    if (whole_file || reached_since || shown.size() >= count) {
      if (shown.size() > count) shown.erase(shown.begin(), shown.end() - count);
      return shown;
    }
    want *= 2;
  }
}

int print_log(CliContext& ctx, const LogArgs& args, bool tail_given) {
  const EventSource source(ctx.worktree());
  EventFilter filter{args.task_ids, args.worker_ids, {}, std::nullopt};
  for (const std::string& kinds : args.kinds)
    for (std::size_t start = 0; start <= kinds.size();) {
      const std::size_t comma = std::min(kinds.find(',', start), kinds.size());
      if (comma > start) filter.kinds.push_back(kinds.substr(start, comma - start));
      start = comma + 1;
    }
  if (!args.since.empty()) filter.since = parse_since(args.since, SystemClock::instance().now());
  const bool raw = args.json || (!args.text && ::isatty(STDOUT_FILENO) != 1);
  const LogPrinter printer(filter, raw);
  // --since alone means every event since then; -n still bounds it when given.
  const std::size_t count =
      filter.since && !tail_given ? kAll : static_cast<std::size_t>(args.tail);
  for (const std::string& line : last_shown_lines(source, printer, filter, count)) {
    std::optional<TrajectoryEvent> event;
    printer.shows(line, event);
    printer.print(line, event);
  }
  std::cout.flush();
  if (!args.follow) return 0;
  source.follow([&](std::string_view line) { return printer.print_if_shown(line); });
  return 0;
}

// --tail of log: CLI11 would take a negative count for a huge one.
std::string check_not_negative(std::string& value) {
  return value.starts_with('-') ? "must be 0 or more, not " + value : std::string();
}

void add_log(CLI::App& app, CliContext& ctx, Action& action) {
  auto args = std::make_shared<LogArgs>();
  auto verb = std::make_shared<CLI::App*>();
  Action run = [&ctx, args, verb] { return print_log(ctx, *args, (*verb)->count("--tail") > 0); };
  *verb = add_verb(app, "log",
                   "Print the trajectory (event log): the last events, optionally only those of "
                   "some tasks, workers or kinds, or since a time, and follow it",
                   action, std::move(run));
  CLI::App& log = **verb;
  log.add_option("--tail,-n", args->tail,
                 "Number of last matching events to print (default 20; with --since alone, all)")
      ->check(CLI::Validator(check_not_negative, "N>=0"));
  log.add_flag("--follow,-f", args->follow, "Keep printing new events (filtered too)");
  log.add_option("--task", args->task_ids, "Only events of this task (repeatable)")
      ->type_name("ID");
  log.add_option("--worker", args->worker_ids, "Only events of this worker (repeatable)")
      ->type_name("W");
  log.add_option("--event", args->kinds,
                 "Only events of this kind: claim, complete, fail, heartbeat, release, retry, "
                 "add, verify, exec, git, plan_import, update_state, plan_reset, daemon_start, "
                 "daemon_stop (repeatable, or comma-separated)")
      ->type_name("KIND");
  log.add_option("--since", args->since,
                 "Only events since a time: 30s, 10m, 2h, 1d ago, or an ISO-8601 time or date")
      ->type_name("WHEN")
      ->check(CLI::Validator(
          [](std::string& text) {
            try {
              parse_since(text, 0);
              return std::string();
            } catch (const std::exception& e) {
              return std::string(e.what());
            }
          },
          "WHEN"));
  CLI::Option* json =
      log.add_flag("--json", args->json,
                   "Print the events as written, one JSON object a line (the default when the "
                   "output is not a terminal)");
  log.add_flag("--text", args->text, "Print one readable line per event, even to a pipe")
      ->excludes(json);
}

// --- web --------------------------------------------------------------------------------------

void add_web(CLI::App& app, CliContext& ctx, Action& action) {
  auto args = std::make_shared<WebArgs>();
  CLI::App* verb = add_verb(
      app, "web",
      "Serve a read-only dashboard of this worktree's plan on 127.0.0.1 (the DAG, a lane per "
      "worker, the event feed, live); prints its URL with the access token",
      action, [&ctx, args] { return run_web(ctx, *args); });
  verb->add_option("--port", args->port, "TCP port (default 0: a free one)")
      ->check(CLI::Range(0, 65535));
  verb->add_flag("--open", args->open, "Open the page in a browser (xdg-open)");
}

}  // namespace

void register_view_verbs(CLI::App& app, CliContext& ctx, Action& action) {
  add_status(app, ctx, action);
  add_log(app, ctx, action);
  add_web(app, ctx, action);
}

}  // namespace harness
