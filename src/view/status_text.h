// The StatusView as text for a terminal: `harness status` and each frame of its --watch.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "view/status_view.h"

namespace harness {

struct TextStyle {
  std::size_t width = 80;  // no line is longer (in characters; colour codes aside)
  bool color = false;      // ANSI colours: only for a terminal that wants them (use_color)
  // At most this many lines (a --watch frame must fit its screen): the task lists and the
  // events give up lines first, each saying how many more there are. nullopt: the lists show
  // up to `list_limit` entries each.
  std::optional<std::size_t> max_lines;
  std::size_t list_limit = 10;  // failed and blocked tasks, without max_lines
  std::size_t running_limit = 20;
};

// The view as lines, each ending in '\n': a progress bar, the counts by state, throughput and
// ETA, then the running tasks (holder, lease left, attempt), the failed ones (last error,
// what they block), the blocked ones (by what), and the last events. Long ids and errors are
// cut to fit the width, marked with "...".
std::string render_status_text(const StatusView& view, const TextStyle& style);

// Whether output to `fd` should be coloured: it is a terminal, $NO_COLOR is unset or empty,
// and $TERM is not "dumb".
bool use_color(int fd);

// "45s", "4m12s", "2h05m", "3d04h"; negative durations as their absolute value.
std::string format_duration(Micros duration);

}  // namespace harness
