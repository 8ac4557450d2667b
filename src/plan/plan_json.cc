#include "plan/plan_json.h"

#include <algorithm>
#include <cstdio>

#include "core/error.h"
#include "plan/plan_text.h"

namespace harness {

JsonPlace JsonPlace::operator/(std::string_view key) const {
  return JsonPlace(*source_, line_,
                   path_.empty() ? std::string(key) : path_ + "." + std::string(key));
}

JsonPlace JsonPlace::operator[](std::size_t index) const {
  return JsonPlace(*source_, line_, path_ + "[" + std::to_string(index) + "]");
}

void JsonPlace::fail(const std::string& message) const {
  const std::string what = path_.empty() ? message : path_ + ": " + message;
  if (line_ > 0) fail_at(*source_, line_, what);
  throw Error::invalid(source_->empty() ? what : *source_ + " " + what);
}

void JsonPlace::expected(const std::string& what, const Json& found) const {
  fail("expected " + what + ", found " + describe_json(found));
}

std::string describe_json(const Json& value) {
  switch (value.type()) {
    case Json::value_t::object:
      return "an object";
    case Json::value_t::array:
      return "a list";
    case Json::value_t::string:
      return "a string";
    case Json::value_t::null:
      return "null";
    case Json::value_t::boolean:
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float:
      return value.dump();
    default:
      return value.type_name();
  }
}

std::optional<std::string> optional_string(const Json& object, std::string_view key,
                                           const JsonPlace& place) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) (place / key).expected("a string", *it);
  return it->get<std::string>();
}

const Json* optional_list(const Json& object, std::string_view key, const JsonPlace& place,
                          const std::string& what) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  if (!it->is_array()) (place / key).expected(what, *it);
  return &*it;
}

std::string id_of(const Json& value, const JsonPlace& place) {
  if (value.is_number_integer() || value.is_number_unsigned()) return value.dump();
  if (value.is_string()) {
    const std::string id(trim(value.get_ref<const std::string&>()));
    if (!id.empty()) return id;
  }
  place.expected("a task id (a string or an integer)", value);
}

Json parse_json_naming_line(std::string_view text, const std::string& source,
                            std::size_t first_line, std::string_view context) {
  try {
    return parse_json(text);
  } catch (const Error& e) {
    // parse_json says "invalid JSON at byte B: parse error at line L, column C: WHAT" for a
    // syntax error, "invalid JSON: ..." for the rest (nesting, duplicate keys, NUL bytes).
    std::string message = e.what();
    std::size_t line = 0, column = 0;
    constexpr std::string_view kAt = "parse error at line ";
    const std::size_t at = message.find(kAt);
    if (at != std::string::npos &&
        std::sscanf(message.c_str() + at + kAt.size(), "%zu, column %zu", &line, &column) == 2) {
      const std::size_t colon = message.find(": ", at);
      message = "invalid JSON at column " + std::to_string(column) + ": " +
                (colon == std::string::npos ? std::string() : message.substr(colon + 2));
    }
    fail_at(source, first_line + (line > 0 ? line - 1 : 0), std::string(context) + message);
  }
}

}  // namespace harness
