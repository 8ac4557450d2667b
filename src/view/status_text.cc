#include "view/status_text.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <vector>

namespace harness {
namespace {

constexpr std::string_view kReset = "\x1b[0m";

std::string_view color_of(TaskState state) {
  switch (state) {
    case TaskState::kCompleted:
      return "\x1b[32m";
    case TaskState::kRunning:
      return "\x1b[33m";
    case TaskState::kFailed:
      return "\x1b[31m";
    case TaskState::kBlocked:
      return "\x1b[35m";
    case TaskState::kReady:
      return "\x1b[36m";
    case TaskState::kBackoff:
    case TaskState::kWaiting:
      return "\x1b[2m";
  }
  return "";
}

// Characters of UTF-8 `text` (code points: close enough to columns for ids and messages).
std::size_t length(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

// `text` on one line, cut to `width` characters with "..." when longer.
std::string fit(std::string_view text, std::size_t width) {
  std::string flat(text);
  for (char& c : flat)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  if (length(flat) <= width) return flat;
  const std::size_t keep = width > 3 ? width - 3 : width;
  std::size_t chars = 0, i = 0;
  for (; i < flat.size(); ++i) {
    if ((static_cast<unsigned char>(flat[i]) & 0xC0) != 0x80 && chars++ == keep) break;
  }
  flat.resize(i);
  if (width > 3) flat += "...";
  return flat;
}

// `text` cut to `width` and padded to it.
std::string column(std::string_view text, std::size_t width) {
  std::string cell = fit(text, width);
  cell.append(width - std::min(width, length(cell)), ' ');
  return cell;
}

class Painter {
 public:
  explicit Painter(bool on) : on_(on) {}
  std::string operator()(std::string_view code, const std::string& text) const {
    if (!on_ || text.empty()) return text;
    return std::string(code) + text + std::string(kReset);
  }
  std::string state(TaskState s, const std::string& text) const {
    return (*this)(color_of(s), text);
  }
  std::string bold(const std::string& text) const { return (*this)("\x1b[1m", text); }

 private:
  bool on_;
};

std::string progress_bar(const StatusView& view, std::size_t width, const Painter& paint) {
  const StateCounts& c = view.counts;
  const std::int64_t total = c.total();
  const std::string percent = std::to_string(total ? c.completed * 100 / total : 100) + "%";
  const std::string tail =
      " " + percent + " " + std::to_string(c.completed) + "/" + std::to_string(total);
  const std::size_t cells = width > tail.size() + 2 ? width - tail.size() - 2 : 1;
  const auto share = [&](std::int64_t n) {
    return total ? static_cast<std::size_t>(n * static_cast<std::int64_t>(cells) / total) : 0;
  };
  const std::size_t done = total ? share(c.completed) : cells;
  const std::size_t failed = std::min(cells - done, share(c.failed));
  const std::size_t running = std::min(cells - done - failed, share(c.running));
  std::string bar = "[";
  bar += paint.state(TaskState::kCompleted, std::string(done, '#'));
  bar += paint.state(TaskState::kFailed, std::string(failed, '!'));
  bar += paint.state(TaskState::kRunning, std::string(running, '>'));
  bar += std::string(cells - done - failed - running, '.');
  return bar + "]" + tail;
}

std::string plural(std::int64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string throughput_line(const StatusView& view) {
  const Throughput& t = view.throughput;
  char rate[32];
  std::snprintf(rate, sizeof rate, "%.1f", t.per_minute);
  std::string line =
      "Throughput " + std::string(rate) + "/min over the last " + format_duration(t.span) + "; ";
  if (t.eta && *t.eta == 0) return line + "nothing left to run";
  if (t.eta) return line + "ETA " + format_duration(*t.eta);
  if (t.remaining == 0)
    return line + "stalled: " + plural(view.counts.blocked, "task", "tasks") +
           " blocked behind failures";
  return line + "ETA unknown (nothing completed lately)";
}

std::vector<std::string> header(const StatusView& view, const TextStyle& style,
                                const Painter& paint) {
  const StateCounts& c = view.counts;
  std::vector<std::string> lines;
  if (view.goal) lines.push_back(fit("Goal: " + *view.goal, style.width));
  lines.push_back(progress_bar(view, style.width, paint));
  lines.push_back(fit(std::to_string(c.completed) + "/" + std::to_string(c.total()) +
                          " completed, " + std::to_string(c.running) + " running, " +
                          std::to_string(c.pending()) + " pending, " + std::to_string(c.failed) +
                          " failed",
                      style.width));
  // Painted only when it fits whole: colour codes and cutting do not mix.
  const std::string breakdown = "pending: " + std::to_string(c.ready) + " ready, " +
                                std::to_string(c.waiting) + " waiting, " +
                                std::to_string(c.backoff) + " backing off, " +
                                std::to_string(c.blocked) + " blocked";
  const auto part = [&](TaskState s, const std::string& label) {
    const std::string text = std::to_string(c.of(s)) + " " + label;
    return c.of(s) ? paint.state(s, text) : text;
  };
  lines.push_back(length(breakdown) > style.width
                      ? fit(breakdown, style.width)
                      : "pending: " + part(TaskState::kReady, "ready") + ", " +
                            part(TaskState::kWaiting, "waiting") + ", " +
                            part(TaskState::kBackoff, "backing off") + ", " +
                            part(TaskState::kBlocked, "blocked"));
  lines.push_back(fit(throughput_line(view), style.width));
  return lines;
}

// A titled list of entries that may have to give up lines.
struct Section {
  std::string title;
  std::vector<std::string> entries;
  std::size_t total = 0;  // entries there are (more than `entries` when cut before)
  std::string more_hint;  // after "... N more"
  std::size_t shown = 0;

  std::size_t lines() const {
    if (total == 0) return 0;
    return 1 + shown + (shown < total ? 1 : 0);
  }
};

std::string lease_left(const RunningTaskView& r, Micros now) {
  if (!r.lease_expires_at) return "-";
  const Micros left = *r.lease_expires_at - now;
  return left >= 0 ? format_duration(left) : "expired";
}

Section running_section(const StatusView& view, const TextStyle& style, const Painter& paint) {
  Section s{paint.bold("Running (" + std::to_string(view.running.size()) + ")"),
            {},
            view.running.size(),
            "running"};
  const std::size_t id_width = style.width >= 80 ? 26 : style.width / 3;
  const std::size_t worker_width = style.width >= 80 ? 20 : style.width / 4;
  for (const RunningTaskView& r : view.running) {
    if (s.entries.size() == style.running_limit && !style.max_lines) break;
    // The holder, and where it claimed from by the worktree's directory name (`harness
    // worktree add` names them REPO--NAME).
    const std::string holder =
        r.worktree ? r.worker_id + " in " + std::filesystem::path(*r.worktree).filename().string()
                   : r.worker_id;
    std::string line = "  " + paint.state(TaskState::kRunning, column(r.id, id_width)) + " " +
                       column(holder, worker_width) + " ";
    const std::string rest = "lease " + lease_left(r, view.now) + "  attempt " +
                             std::to_string(r.attempt) + "/" + std::to_string(r.max_attempts);
    const std::size_t used = 2 + id_width + 1 + worker_width + 1;
    s.entries.push_back(line + fit(rest, style.width > used ? style.width - used : 0));
  }
  return s;
}

Section failed_section(const StatusView& view, const TextStyle& style, const Painter& paint) {
  Section s{paint.bold("Failed (" + std::to_string(view.failed.size()) + ")"),
            {},
            view.failed.size(),
            "failed: harness task list --status failed"};
  const std::size_t id_width = style.width >= 80 ? 24 : style.width / 3;
  for (const FailedTaskView& f : view.failed) {
    if (s.entries.size() == style.list_limit && !style.max_lines) break;
    std::string rest =
        "attempts " + std::to_string(f.attempts) + "/" + std::to_string(f.max_attempts);
    if (f.blocks) rest += ", blocks " + std::to_string(f.blocks);
    rest += ": " + (f.last_error.empty() ? std::string("(no error given)") : f.last_error);
    const std::size_t used = 2 + id_width + 1;
    s.entries.push_back("  " + paint.state(TaskState::kFailed, column(f.id, id_width)) + " " +
                        fit(rest, style.width > used ? style.width - used : 0));
  }
  return s;
}

Section blocked_section(const StatusView& view, const TextStyle& style, const Painter& paint) {
  Section s{paint.bold("Blocked (" + std::to_string(view.blocked.size()) + ")"),
            {},
            view.blocked.size(),
            "blocked: harness task show --id ID"};
  const std::size_t id_width = style.width >= 80 ? 28 : style.width / 3;
  for (const BlockedTaskView& b : view.blocked) {
    if (s.entries.size() == style.list_limit && !style.max_lines) break;
    std::string by;
    for (const std::string& id : b.blocked_by) by += (by.empty() ? "" : ", ") + id;
    const std::size_t used = 2 + id_width + 4;
    s.entries.push_back("  " + paint.state(TaskState::kBlocked, column(b.id, id_width)) + " by " +
                        fit(by, style.width > used ? style.width - used : 0));
  }
  return s;
}

Section events_section(const StatusView& view, const TextStyle& style, const Painter& paint) {
  Section s{paint.bold("Recent events"), {}, view.recent.size(), "events: harness log"};
  // Newest first, so that a frame short of lines keeps the latest.
  for (auto it = view.recent.rbegin(); it != view.recent.rend(); ++it) {
    const TrajectoryEvent& e = *it;
    std::string line = column(format_duration(view.now - e.ts) + " ago", 10) + " " +
                       column(e.kind, 12) + " " + e.task_id;
    if (!e.worker_id.empty())
      line += (e.task_id.empty() ? "" : " ") + std::string("by ") + e.worker_id;
    if (!e.detail.empty())
      line += (e.task_id.empty() && e.worker_id.empty() ? "" : ": ") + e.detail;
    s.entries.push_back("  " + fit(line, style.width > 2 ? style.width - 2 : 0));
  }
  return s;
}

// Takes entries away, from the longest section first, until the sections fit `available`.
void fit_sections(std::vector<Section>& sections, std::optional<std::size_t> available) {
  for (Section& s : sections) s.shown = s.entries.size();
  if (!available) return;
  const auto used = [&] {
    std::size_t n = 0;
    for (const Section& s : sections) n += s.lines() + (s.lines() ? 1 : 0);  // a blank line before
    return n;
  };
  while (used() > *available) {
    Section* longest = nullptr;
    for (Section& s : sections)
      if (s.shown > 0 && (!longest || s.shown >= longest->shown)) longest = &s;
    if (!longest) break;
    --longest->shown;
  }
}

}  // namespace

std::string format_duration(Micros duration) {
  std::int64_t seconds = (duration < 0 ? -duration : duration) / kMicrosPerSecond;
  char text[32];
  if (seconds < 60) {
    std::snprintf(text, sizeof text, "%llds", static_cast<long long>(seconds));
  } else if (seconds < 3600) {
    std::snprintf(text, sizeof text, "%lldm%02llds", static_cast<long long>(seconds / 60),
                  static_cast<long long>(seconds % 60));
  } else if (seconds < 86400) {
    std::snprintf(text, sizeof text, "%lldh%02lldm", static_cast<long long>(seconds / 3600),
                  static_cast<long long>(seconds % 3600 / 60));
  } else {
    std::snprintf(text, sizeof text, "%lldd%02lldh", static_cast<long long>(seconds / 86400),
                  static_cast<long long>(seconds % 86400 / 3600));
  }
  return text;
}

bool use_color(int fd) {
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color && *no_color) return false;
  const char* term = std::getenv("TERM");
  if (term && std::strcmp(term, "dumb") == 0) return false;
  return ::isatty(fd) == 1;
}

std::string render_status_text(const StatusView& view, const TextStyle& style) {
  const Painter paint(style.color);
  std::vector<std::string> lines = header(view, style, paint);
  std::vector<Section> sections{
      running_section(view, style, paint), failed_section(view, style, paint),
      blocked_section(view, style, paint), events_section(view, style, paint)};
  std::optional<std::size_t> available;
  if (style.max_lines)
    available = *style.max_lines > lines.size() ? *style.max_lines - lines.size() : 0;
  fit_sections(sections, available);
  for (const Section& s : sections) {
    if (s.lines() == 0) continue;
    if (available && s.lines() + 1 > *available) break;
    lines.emplace_back();
    lines.push_back(s.title);
    for (std::size_t i = 0; i < s.shown; ++i) lines.push_back(s.entries[i]);
    if (s.shown < s.total)
      lines.push_back(
          fit("  ... " + std::to_string(s.total - s.shown) + " more " + s.more_hint, style.width));
    if (available) *available -= s.lines() + 1;
  }
  std::string text;
  for (const std::string& line : lines) text += line + "\n";
  return text;
}

}  // namespace harness
