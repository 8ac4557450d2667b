// JSON in harness: nlohmann's ordered_json, because a plan's order is the order of its tasks
// map, parsed by our own SAX builder because ordered_json's parser inserts each key with a
// linear search, which makes parsing a large plan quadratic.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace harness {

using Json = nlohmann::ordered_json;

constexpr int kMaxJsonDepth = 64;

// Parses one JSON document in linear time, keeping object keys in document order. Throws
// Error::invalid for malformed text ("invalid JSON at byte 17: ..."), a duplicate key in one
// object ("duplicate key 'a'") and nesting deeper than kMaxJsonDepth.
Json parse_json(std::string_view text);

// Takes the members of chosen containers while parse_json(text, sink) parses, so that a large
// document (a plan of many tasks) is never held whole: each member is handed over as soon as
// it is complete, and its container stays in the document, empty.
class JsonMemberSink {
 public:
  virtual ~JsonMemberSink() = default;
  // Whether the members of the object (or array) opening at `path` go to take() instead of
  // into the document. `path` holds the keys from the root to it (an array element's is "").
  virtual bool takes(const std::vector<std::string>& path, bool is_array) = 0;
  // A complete member of such a container at `path`: its key ("" in an array) and value.
  // May throw (Error::invalid) to refuse the document.
  virtual void take(const std::vector<std::string>& path, std::string key, Json value) = 0;
};

// parse_json, handing the members of the containers `sink` takes to it. Keys are still checked
// for duplicates, also in the containers taken.
Json parse_json(std::string_view text, JsonMemberSink& sink);

// Appends key → value to `object` (which must be an object) without searching for an existing
// key: the caller guarantees the key is new. This is how large maps are built in linear time.
void append_member(Json& object, std::string key, Json value);

// Appends `text` as a JSON string: exactly Json(text).dump() with invalid UTF-8 replaced by
// U+FFFD (as every reply is dumped), without building a JSON value for the common case.
void append_json_string(std::string& out, std::string_view text);

}  // namespace harness
