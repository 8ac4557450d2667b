#include "view/event_filter.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <string>

#include "core/error.h"

namespace harness {
namespace {

bool listed(const std::vector<std::string>& allowed, const std::string& value) {
  return allowed.empty() || std::find(allowed.begin(), allowed.end(), value) != allowed.end();
}

Micros unit_micros(char unit) {
  switch (unit) {
    case 's':
      return kMicrosPerSecond;
    case 'm':
      return 60 * kMicrosPerSecond;
    case 'h':
      return 3600 * kMicrosPerSecond;
    case 'd':
      return 86400 * kMicrosPerSecond;
    default:
      return 0;
  }
}

// "1h30m" → its length; nullopt when `text` is not a sequence of <digits><unit>.
std::optional<Micros> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  constexpr Micros kLimit = std::numeric_limits<Micros>::max() / 4;
  Micros total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t digits = i;
    Micros count = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      count = count * 10 + (text[i++] - '0');
      if (count > kLimit / (86400 * kMicrosPerSecond)) return std::nullopt;
    }
    if (i == digits || i == text.size()) return std::nullopt;
    const Micros unit = unit_micros(text[i++]);
    if (unit == 0) return std::nullopt;
    total += count * unit;
    if (total > kLimit) return std::nullopt;
  }
  return total;
}

bool is_date(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return false;
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return false;
  return true;
}

}  // namespace

bool EventFilter::matches(const TrajectoryEvent& event) const {
  return listed(task_ids, event.task_id) && listed(worker_ids, event.worker_id) &&
         listed(kinds, event.kind) && (!since || event.ts >= *since);
}

Micros parse_since(std::string_view text, Micros now) {
  if (const auto back = parse_duration(text)) return now - *back;
  if (is_date(text)) {
    if (const auto midnight = parse_iso8601(std::string(text) + "T00:00:00Z")) return *midnight;
  }
  if (const auto at = parse_iso8601(text)) return *at;
  throw Error::invalid("--since " + std::string(text) +
                       ": expected a duration back from now (30s, 10m, 2h, 1d, 1h30m), a date "
                       "(2026-12-07) or an ISO-8601 time (2026-12-07T10:00:00Z)");
}

}  // namespace harness
