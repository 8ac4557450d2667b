#include "plan/plan_text.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include <glib.h>

#include "core/error.h"

namespace harness {

namespace {

struct Fence {
  char mark;
  std::size_t length;
  bool has_info;  // "```python": an opening fence, never a closing one
};

std::optional<Fence> fence_of(std::string_view line) {
  line = trim(line);
  if (line.size() < 3 || (line[0] != '`' && line[0] != '~')) return std::nullopt;
  const char mark = line[0];
  const std::size_t length = line.find_first_not_of(mark);
  if (length != std::string_view::npos && length < 3) return std::nullopt;
  if (length == std::string_view::npos) return Fence{mark, line.size(), false};
  const std::string_view info = trim(line.substr(length));
  // ```a``` on one line is inline code, not a fence.
  if (mark == '`' && info.find('`') != std::string_view::npos) return std::nullopt;
  return Fence{mark, length, !info.empty()};
}

// Marks the lines inside fenced blocks; returns false when a block is left open at the end.
bool mark_code(std::vector<MarkdownLine>& lines, bool nested) {
  std::vector<Fence> open;
  for (MarkdownLine& line : lines) {
    const std::optional<Fence> fence = fence_of(line.text);
    line.in_code = !open.empty() || fence.has_value();
    if (!fence) continue;
    if (open.empty()) {
      open.push_back(*fence);
    } else if (!fence->has_info && fence->mark == open.back().mark &&
               fence->length >= open.back().length) {
      open.pop_back();
    } else if (nested && fence->has_info) {
      open.push_back(*fence);
    }
  }
  return open.empty();
}

}  // namespace

std::vector<MarkdownLine> markdown_lines(std::string_view text) {
  std::vector<MarkdownLine> lines;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // a UTF-8 byte order mark
  std::size_t number = 1;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back({line, number++, false});
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  if (!mark_code(lines, true)) mark_code(lines, false);
  return lines;
}

std::optional<Heading> heading_of(std::string_view line) {
  const std::size_t indent = line.find_first_not_of(' ');
  if (indent == std::string_view::npos || indent > 3 || line[indent] != '#') return std::nullopt;
  line.remove_prefix(indent);
  const std::size_t level = line.find_first_not_of('#');
  if (level > 6) return std::nullopt;
  if (level != std::string_view::npos && line[level] != ' ' && line[level] != '\t')
    return std::nullopt;
  std::string_view title = level == std::string_view::npos ? "" : trim(line.substr(level));
  // "## Title ##": the closing sequence needs a space before it.
  const std::size_t closing = title.find_last_not_of('#');
  if (closing == std::string_view::npos) {
    title = {};
  } else if (closing + 1 < title.size() && (title[closing] == ' ' || title[closing] == '\t')) {
    title = trim(title.substr(0, closing));
  }
  return Heading{static_cast<int>(std::min(level, line.size())), title};
}

std::string_view trim(std::string_view text) {
  const std::size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return {};
  const std::size_t end = text.find_last_not_of(" \t\r\n");
  return text.substr(begin, end - begin + 1);
}

std::string without_emphasis(std::string_view text) {
  std::string out;
  for (const char c : text)
    if (c != '*') out += c;
  return out;
}

bool starts_with_word(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         std::equal(prefix.begin(), prefix.end(), text.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) ==
                  std::tolower(static_cast<unsigned char>(b));
         });
}

void require_utf8(std::string_view text, const std::string& source) {
  const gchar* end = nullptr;
  if (g_utf8_validate(text.data(), static_cast<gssize>(text.size()), &end)) return;
  const std::size_t at = static_cast<std::size_t>(end - text.data());
  const std::string_view before = text.substr(0, at);
  const std::size_t line_start = before.rfind('\n') + 1;  // npos + 1 == 0
  char byte[8];
  std::snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned char>(text[at]));
  fail_at(source, 1 + static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n')),
          "expected UTF-8 text, found the byte " + std::string(byte) + " at column " +
              std::to_string(at - line_start + 1));
}

void fail_at(const std::string& source, std::size_t line, const std::string& message) {
  const std::string where = "line " + std::to_string(line) + ": ";
  throw Error::invalid(source.empty() ? where + message : source + " " + where + message);
}

}  // namespace harness
