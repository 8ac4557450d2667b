// Reading the JSON plan documents of other tools (taskmaster, beads): where a value sits, for
// errors that name the file, the line (JSON Lines) or the path ("master.tasks[2].id"), and what
// was expected.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/json.h"

namespace harness {

class JsonPlace {
 public:
  // `source` names the file in errors (empty: the caller does); `line` is 0 for a whole
  // document, whose values are named by their path alone.
  JsonPlace(const std::string& source, std::size_t line, std::string path = {})
      : source_(&source), line_(line), path_(std::move(path)) {}

  JsonPlace operator/(std::string_view key) const;  // the member `key`: "a.key"
  JsonPlace operator[](std::size_t index) const;    // the element `index`: "a[3]"
  const std::string& path() const { return path_; }

  // Throws Error::invalid "SOURCE line N: PATH: MESSAGE" ("SOURCE PATH: MESSAGE" without line).
  [[noreturn]] void fail(const std::string& message) const;
  // fail("expected WHAT, found <a description of found>").
  [[noreturn]] void expected(const std::string& what, const Json& found) const;

 private:
  const std::string* source_;
  std::size_t line_;
  std::string path_;
};

// "a string", "an object", "the number 3", "true", "null": for errors.
std::string describe_json(const Json& value);

// The string member `key` of `object` (which must be an object); nullopt when it is absent or
// null. Throws (at place/key) when it is anything else.
std::optional<std::string> optional_string(const Json& object, std::string_view key,
                                           const JsonPlace& place);

// The list member `key` of `object`; nullptr when it is absent or null. Throws (at place/key,
// "expected WHAT") when it is anything else.
const Json* optional_list(const Json& object, std::string_view key, const JsonPlace& place,
                          const std::string& what);

// A task id written as a string or an integer ("3", 3 -> "3"). Throws for anything else or an
// empty string.
std::string id_of(const Json& value, const JsonPlace& place);

// parse_json(text), with a syntax error naming its line: "SOURCE line N: invalid JSON at column
// C: ..." (counted from `first_line`, for a line of a JSON Lines file). `context` comes before
// "invalid JSON" when given ("expected one JSON object a line: ").
Json parse_json_naming_line(std::string_view text, const std::string& source,
                            std::size_t first_line = 1, std::string_view context = {});

}  // namespace harness
