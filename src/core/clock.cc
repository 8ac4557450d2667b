#include "core/clock.h"

#include <chrono>
#include <cstdio>
#include <string_view>

namespace harness {

Micros SystemClock::now() const {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

const SystemClock& SystemClock::instance() {
  static const SystemClock clock;
  return clock;
}

namespace {

// Floor division, so that times before 1970 still split into day and time of day correctly.
std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

bool read_digits(std::string_view text, size_t& pos, size_t count, int& out) {
  if (pos + count > text.size()) return false;
  out = 0;
  for (size_t i = 0; i < count; ++i) {
    char c = text[pos + i];
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  pos += count;
  return true;
}

bool expect(std::string_view text, size_t& pos, char c) {
  if (pos >= text.size() || text[pos] != c) return false;
  ++pos;
  return true;
}

}  // namespace

namespace {

// Writes `value` as exactly `width` decimal digits (value < 10^width).
char* put_digits(char* out, std::uint64_t value, int width) {
  for (int i = width - 1; i >= 0; --i, value /= 10) out[i] = static_cast<char>('0' + value % 10);
  return out + width;
}

}  // namespace

// Written digit by digit rather than with snprintf: it runs for every claim reply and every
// trajectory event.
std::string format_iso8601(Micros t) {
  using namespace std::chrono;
  const std::int64_t micros_per_day = 86'400LL * kMicrosPerSecond;
  const std::int64_t day = floor_div(t, micros_per_day);
  const std::int64_t in_day = t - day * micros_per_day;
  const year_month_day ymd{sys_days{days{day}}};
  const std::int64_t secs = in_day / kMicrosPerSecond;
  const int year = static_cast<int>(ymd.year());
  char buf[64];
  if (year < 0 || year > 9999) {  // beyond what parse_iso8601 reads back; written all the same
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02lld:%02lld:%02lld.%06lld+00:00", year,
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                  static_cast<long long>(secs / 3600), static_cast<long long>(secs / 60 % 60),
                  static_cast<long long>(secs % 60),
                  static_cast<long long>(in_day % kMicrosPerSecond));
    return buf;
  }
  char* out = put_digits(buf, static_cast<std::uint64_t>(year), 4);
  *out++ = '-';
  out = put_digits(out, static_cast<unsigned>(ymd.month()), 2);
  *out++ = '-';
  out = put_digits(out, static_cast<unsigned>(ymd.day()), 2);
  *out++ = 'T';
  out = put_digits(out, static_cast<std::uint64_t>(secs / 3600), 2);
  *out++ = ':';
  out = put_digits(out, static_cast<std::uint64_t>(secs / 60 % 60), 2);
  *out++ = ':';
  out = put_digits(out, static_cast<std::uint64_t>(secs % 60), 2);
  *out++ = '.';
  out = put_digits(out, static_cast<std::uint64_t>(in_day % kMicrosPerSecond), 6);
  for (char c : std::string_view("+00:00")) *out++ = c;
  return std::string(buf, out);
}

std::optional<Micros> parse_iso8601(std::string_view text) {
  using namespace std::chrono;
  size_t pos = 0;
  int y, mo, d, h, mi, s;
  if (!read_digits(text, pos, 4, y) || !expect(text, pos, '-') || !read_digits(text, pos, 2, mo) ||
      !expect(text, pos, '-') || !read_digits(text, pos, 2, d))
    return std::nullopt;
  if (pos >= text.size() || (text[pos] != 'T' && text[pos] != ' ')) return std::nullopt;
  ++pos;
  if (!read_digits(text, pos, 2, h) || !expect(text, pos, ':') || !read_digits(text, pos, 2, mi) ||
      !expect(text, pos, ':') || !read_digits(text, pos, 2, s))
    return std::nullopt;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 60) return std::nullopt;

  Micros fraction = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    size_t digits = 0;
    Micros scale = 100'000;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (digits < 6) fraction += (text[pos] - '0') * scale, scale /= 10;
      ++pos, ++digits;
    }
    if (digits == 0 || digits > 9) return std::nullopt;
  }

  Micros offset = 0;
  if (pos < text.size()) {
    if (text[pos] == 'Z' || text[pos] == 'z') {
      ++pos;
    } else if (text[pos] == '+' || text[pos] == '-') {
      const int sign = text[pos] == '-' ? -1 : 1;
      ++pos;
      int oh, om;
      if (!read_digits(text, pos, 2, oh)) return std::nullopt;
      if (pos < text.size() && text[pos] == ':') ++pos;
      if (!read_digits(text, pos, 2, om) || oh > 23 || om > 59) return std::nullopt;
      offset = sign * (oh * 3600LL + om * 60LL) * kMicrosPerSecond;
    }
  }
  if (pos != text.size()) return std::nullopt;

  const std::int64_t days_since_epoch = sys_days{ymd}.time_since_epoch().count();
  const Micros local =
      (days_since_epoch * 86'400LL + h * 3600LL + mi * 60LL + s) * kMicrosPerSecond + fraction;
  // Only instants that format_iso8601 writes back in four-digit years (and Python's datetime
  // can hold): 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z.
  constexpr Micros kEarliest = -62'135'596'800LL * kMicrosPerSecond;
  constexpr Micros kLatest = 253'402'300'800LL * kMicrosPerSecond - 1;
  const Micros utc = local - offset;
  if (utc < kEarliest || utc > kLatest) return std::nullopt;
  return utc;
}

}  // namespace harness
