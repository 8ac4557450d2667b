// JSON in harness: nlohmann's ordered_json, because a plan's order is the order of its tasks
// map, parsed by our own SAX builder because ordered_json's parser inserts each key with a
// linear search, which makes parsing a large plan quadratic.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace harness {

using Json = nlohmann::ordered_json;

constexpr int kMaxJsonDepth = 64;

// Parses one JSON document in linear time, keeping object keys in document order. Throws
// Error::invalid for malformed text ("invalid JSON at byte 17: ..."), a duplicate key in one
// object ("duplicate key 'a'") and nesting deeper than kMaxJsonDepth.
Json parse_json(std::string_view text);

// Appends key → value to `object` (which must be an object) without searching for an existing
// key: the caller guarantees the key is new. This is how large maps are built in linear time.
void append_member(Json& object, std::string key, Json value);

// Appends `text` as a JSON string: exactly Json(text).dump() with invalid UTF-8 replaced by
// U+FFFD (as every reply is dumped), without building a JSON value for the common case.
void append_json_string(std::string& out, std::string_view text);

}  // namespace harness
