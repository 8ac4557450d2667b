// parse_json, the one JSON reader behind requests, plan files and state files. Properties: it
// refuses only with harness::Error; what it accepts is JSON nlohmann also accepts, has no
// duplicate keys and nests at most kMaxJsonDepth deep; what it refuses for a syntax error
// nlohmann refuses too; and dump() of the result parses back equal.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "fuzz_check.h"

namespace harness::fuzz {
namespace {

// Walks the document without recursion: depth and duplicate keys.
void check_shape(const Json& root) {
  std::vector<std::pair<const Json*, int>> todo{{&root, 0}};
  while (!todo.empty()) {
    auto [value, depth] = todo.back();
    todo.pop_back();
    if (!value->is_structured()) continue;
    FUZZ_CHECK(depth < kMaxJsonDepth, "nesting is bounded by kMaxJsonDepth");
    if (value->is_object()) {
      std::unordered_set<std::string_view> keys;
      for (const auto& [key, member] : value->items()) {
        FUZZ_CHECK(keys.insert(key).second, "duplicate key accepted: " + key);
        todo.emplace_back(&member, depth + 1);
      }
    } else {
      for (const Json& item : *value) todo.emplace_back(&item, depth + 1);
    }
  }
}

bool is_extra_rule(const std::string& message) {
  return message.find("duplicate key") != std::string::npos ||
         message.find("nested deeper than") != std::string::npos;
}

}  // namespace
}  // namespace harness::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace harness;
  using namespace harness::fuzz;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  must_not_throw("parse_json throws only harness::Error", [&] {
    Json doc;
    const auto why = refused([&] { doc = parse_json(text); });
    // nlohmann stops at a raw NUL byte (parse_json refuses any), so compare only without one.
    const bool has_nul = text.find('\0') != std::string_view::npos;
    const bool nlohmann_accepts = !has_nul && Json::accept(text.begin(), text.end());
    if (why) {
      FUZZ_CHECK(!why->empty(), "an error names the problem");
      if (!has_nul && !is_extra_rule(*why))
        FUZZ_CHECK(!nlohmann_accepts, "refused JSON that nlohmann accepts: " + *why);
      return;
    }
    FUZZ_CHECK(!has_nul, "a NUL byte was accepted");
    FUZZ_CHECK(nlohmann_accepts, "accepted JSON that nlohmann refuses");
    check_shape(doc);

    const std::string compact = doc.dump();
    Json again;
    if (auto again_why = refused([&] { again = parse_json(compact); }))
      fail("dump() output parses back", *again_why + "\ndump: " + compact);
    FUZZ_CHECK(again == doc, "dump/parse round trip changed the document: " + compact);
    FUZZ_CHECK(again.dump() == compact, "dump is stable: " + compact);
  });
  return 0;
}
