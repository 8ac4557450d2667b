// Time in harness: microseconds since the Unix epoch, UTC. A Clock is injected wherever
// "now" matters so that lease expiry can be tested without sleeping.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace harness {

using Micros = std::int64_t;  // microseconds since 1970-01-01T00:00:00Z

constexpr Micros kMicrosPerSecond = 1'000'000;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Micros now() const = 0;
};

// The wall clock (system_clock).
class SystemClock : public Clock {
 public:
  Micros now() const override;
  static const SystemClock& instance();
};

// A clock that only moves when told; for tests.
class ManualClock : public Clock {
 public:
  explicit ManualClock(Micros start) : now_(start) {}
  Micros now() const override { return now_; }
  void advance(Micros delta) { now_ += delta; }

 private:
  Micros now_;
};

// "2026-11-24T10:00:00.123456+00:00": UTC, always six fractional digits, the form Python's
// datetime.isoformat() produces for an aware UTC datetime.
std::string format_iso8601(Micros t);

// Parses ISO-8601 date-times as written by harness or the Python original: "YYYY-MM-DDTHH:MM:SS"
// (a space is accepted for 'T'), an optional fraction of 1 to 9 digits (truncated to
// microseconds), and an optional zone: "Z", "+HH:MM", "-HHMM". No zone means UTC.
// Returns nullopt for anything else, and for instants outside years 0001-9999 UTC (which
// format_iso8601 could not write back).
std::optional<Micros> parse_iso8601(std::string_view text);

}  // namespace harness
