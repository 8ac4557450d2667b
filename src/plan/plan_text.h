// A Markdown plan document as the importers read it: numbered lines, which of them are fenced
// code (text, never structure), ATX headings, and errors that name a line.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace harness {

struct MarkdownLine {
  std::string_view text;  // without its line break (and a CR before it)
  std::size_t number;     // from 1
  bool in_code;           // inside a fenced code block, its fences included
};

// The lines of `text`. A fence is a line of three or more backticks or tildes (indentation
// allowed, for fences in list items). Inside a block, a fence with an info string ("```python")
// opens a nested block, as plans that show Markdown inside Markdown write it, and a bare fence
// of the same character and at least the same length closes the innermost one. When that
// reading leaves a block open at the end, the CommonMark reading is used instead (inside a
// block only its closing fence counts).
std::vector<MarkdownLine> markdown_lines(std::string_view text);

struct Heading {
  int level;              // 1 to 6
  std::string_view text;  // trimmed, closing #s removed
};

// The ATX heading on `line` ("## Title"), if it is one: at most three spaces before the #s.
std::optional<Heading> heading_of(std::string_view line);

// `text` without leading and trailing whitespace.
std::string_view trim(std::string_view text);
// `text` without the Markdown bold and italic marks (*).
std::string without_emphasis(std::string_view text);
// Whether `text` starts with `prefix`, ignoring ASCII case.
bool starts_with_word(std::string_view text, std::string_view prefix);

// Throws Error::invalid naming the line and column of the first byte of `text` that is not
// UTF-8 (a NUL byte included): what the plan holds is stored and sent as JSON text.
void require_utf8(std::string_view text, const std::string& source);

// Throws Error::invalid "SOURCE line N: MESSAGE" ("line N: MESSAGE" when `source` is empty:
// the caller names the file).
[[noreturn]] void fail_at(const std::string& source, std::size_t line, const std::string& message);

}  // namespace harness
