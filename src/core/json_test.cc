#include "core/json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <iterator>
#include <string>
#include <vector>

#include "core/error.h"

namespace harness {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// Parses `text`, expecting Error::invalid, and returns its message.
std::string parse_error(std::string_view text) {
  try {
    Json j = parse_json(text);
    ADD_FAILURE() << "parsed without error: " << j.dump();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kInvalidArgument) << e.what();
    return e.what();
  }
  return {};
}

std::vector<std::string> keys_of(const Json& object) {
  std::vector<std::string> keys;
  for (const auto& item : object.items()) keys.push_back(item.key());
  return keys;
}

std::string nested_arrays(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST(JsonParse, Scalars) {
  EXPECT_EQ(parse_json("null"), Json(nullptr));
  EXPECT_EQ(parse_json("true"), Json(true));
  EXPECT_EQ(parse_json("false"), Json(false));
  EXPECT_EQ(parse_json("42"), Json(42));
  EXPECT_EQ(parse_json("-7"), Json(-7));
  EXPECT_EQ(parse_json("18446744073709551615").get<std::uint64_t>(), 18446744073709551615ull);
  EXPECT_DOUBLE_EQ(parse_json("2.5").get<double>(), 2.5);
  EXPECT_TRUE(parse_json("1.0").is_number_float());
  EXPECT_EQ(parse_json("\"hi\""), Json("hi"));
  EXPECT_EQ(parse_json("  \n\t 1 \r\n "), Json(1));
}

TEST(JsonParse, StringsAndEscapes) {
  EXPECT_EQ(parse_json(R"("a\"b\\c\/d\n\t")").get<std::string>(), "a\"b\\c/d\n\t");
  EXPECT_EQ(parse_json(R"("\u00e9")").get<std::string>(), "\xc3\xa9");
  EXPECT_EQ(parse_json(R"("\ud83d\ude00")").get<std::string>(), "\xf0\x9f\x98\x80");
  EXPECT_EQ(parse_json("\"\xc3\xa9\xe2\x82\xac\"").get<std::string>(), "\xc3\xa9\xe2\x82\xac");
  // An escaped NUL is a legal character of a JSON string.
  EXPECT_EQ(parse_json(R"("a\u0000b")").get<std::string>(), std::string("a\0b", 3));
}

TEST(JsonParse, NestedStructure) {
  Json j = parse_json(R"({"b": [1, {"y": null, "x": [true]}], "a": {}, "c": []})");
  EXPECT_EQ(keys_of(j), (std::vector<std::string>{"b", "a", "c"}));
  EXPECT_EQ(j["b"][0], 1);
  EXPECT_EQ(keys_of(j["b"][1]), (std::vector<std::string>{"y", "x"}));
  EXPECT_EQ(j["b"][1]["x"][0], true);
  EXPECT_TRUE(j["a"].is_object());
  EXPECT_TRUE(j["a"].empty());
  EXPECT_TRUE(j["c"].is_array());
  // The same document through nlohmann's own parser compares equal.
  EXPECT_EQ(j, Json::parse(R"({"b": [1, {"y": null, "x": [true]}], "a": {}, "c": []})"));
}

TEST(JsonParse, PreservesKeyOrder) {
  Json j = parse_json(R"({"z": 1, "a": 2, "m": 3, "b": 4})");
  EXPECT_EQ(keys_of(j), (std::vector<std::string>{"z", "a", "m", "b"}));
  EXPECT_EQ(j.dump(), R"({"z":1,"a":2,"m":3,"b":4})");
}

TEST(JsonParse, HundredThousandKeysKeepOrder) {
  constexpr int kKeys = 100'000;
  std::string text = "{";
  text.reserve(kKeys * 24);
  std::vector<std::string> expected;
  expected.reserve(kKeys);
  for (int i = 0; i < kKeys; ++i) {
    // A permutation of 0..kKeys-1 (7919 is prime, coprime with kKeys), so sorted order differs.
    std::string key = "task-" + std::to_string((static_cast<long>(i) * 7919) % kKeys);
    if (i) text += ',';
    text += '"' + key + "\":" + std::to_string(i);
    expected.push_back(std::move(key));
  }
  text += '}';

  Json j = parse_json(text);
  ASSERT_TRUE(j.is_object());
  ASSERT_EQ(j.size(), static_cast<std::size_t>(kKeys));
  int i = 0;
  for (const auto& item : j.items()) {
    ASSERT_EQ(item.key(), expected[i]) << i;
    ASSERT_EQ(item.value(), i) << i;
    ++i;
  }
  // The same object, nested one level down, with a duplicate appended at the very end.
  std::string dup =
      "{\"tasks\":" + text.substr(0, text.size() - 1) + ",\"" + expected[kKeys / 2] + "\":0}}";
  EXPECT_THAT(parse_error(dup), HasSubstr("duplicate key '" + expected[kKeys / 2] + "'"));
}

TEST(JsonParse, DuplicateKeyInSmallObject) {
  EXPECT_THAT(parse_error(R"({"a": 1, "a": 2})"), HasSubstr("duplicate key 'a'"));
  EXPECT_THAT(parse_error(R"({"a": 1, "b": 2, "a": 3})"), HasSubstr("duplicate key 'a'"));
  EXPECT_THAT(parse_error(R"([{"x": {"k": 1, "k": {}}}])"), HasSubstr("duplicate key 'k'"));
}

// Objects of more than 16 keys switch to a hash set; check around that boundary.
TEST(JsonParse, DuplicateKeyInLargeObject) {
  for (int distinct = 1; distinct <= 40; ++distinct) {
    for (int dup_of : {0, distinct / 2, distinct - 1}) {
      std::string text = "{";
      for (int i = 0; i < distinct; ++i)
        text += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
      text += "\"k" + std::to_string(dup_of) + "\":null}";
      EXPECT_THAT(parse_error(text), HasSubstr("duplicate key 'k" + std::to_string(dup_of) + "'"))
          << distinct << " " << dup_of;
    }
  }
}

TEST(JsonParse, DistinctKeysAroundTheSetBoundaryParse) {
  for (int n = 14; n <= 20; ++n) {
    std::string text = "{";
    for (int i = 0; i < n; ++i)
      text += std::string(i ? "," : "") + "\"k" + std::to_string(i) + "\":" + std::to_string(i);
    text += "}";
    Json j = parse_json(text);
    EXPECT_EQ(j.size(), static_cast<std::size_t>(n));
    EXPECT_EQ(j["k" + std::to_string(n - 1)], n - 1);
  }
}

TEST(JsonParse, SameKeyInDifferentObjectsIsFine) {
  Json j = parse_json(R"({"a": {"a": 1}, "b": {"a": 2}, "c": [{"a": 3}, {"a": 4}]})");
  EXPECT_EQ(j["a"]["a"], 1);
  EXPECT_EQ(j["b"]["a"], 2);
  EXPECT_EQ(j["c"][1]["a"], 4);
  // Keys that differ only in case or by a prefix are distinct.
  EXPECT_EQ(parse_json(R"({"a": 1, "A": 2, "aa": 3, "": 4})").size(), 4u);
}

TEST(JsonParse, DepthLimitBoundary) {
  ASSERT_EQ(kMaxJsonDepth, 64);
  Json ok = parse_json(nested_arrays(kMaxJsonDepth));
  int depth = 1;
  for (const Json* p = &ok; !p->empty(); p = &(*p)[0]) ++depth;
  EXPECT_EQ(depth, kMaxJsonDepth);
  EXPECT_THAT(parse_error(nested_arrays(kMaxJsonDepth + 1)), HasSubstr("nested deeper than 64"));
  EXPECT_THAT(parse_error(nested_arrays(100'000)), HasSubstr("nested deeper than 64"));
}

TEST(JsonParse, DepthCountsObjectsAndArraysAlike) {
  std::string ok;
  for (int i = 0; i < kMaxJsonDepth / 2; ++i) ok += "{\"k\":[";
  ok += "1";
  for (int i = 0; i < kMaxJsonDepth / 2; ++i) ok += "]}";
  EXPECT_NO_THROW(parse_json(ok));
  EXPECT_THAT(parse_error("[" + ok + "]"), HasSubstr("nested deeper"));
  EXPECT_THAT(parse_error("{\"x\":" + ok + "}"), HasSubstr("nested deeper"));
}

TEST(JsonParse, MalformedReportsByte) {
  for (const char* bad :
       {"[1,,2]", "{\"a\" 1}", "{a: 1}", "[1 2]", "tru", "nul", "01", "[1,]", "{\"a\":1,}", "'a'",
        "{\"a\":1}}", "[] []", "+1", "1.", ".5", "-", "\"\\x\"", "\"\\u12\""}) {
    EXPECT_THAT(parse_error(bad), StartsWith("invalid JSON at byte ")) << bad;
  }
}

TEST(JsonParse, MalformedByteOffsetPointsAtTheProblem) {
  // "[1,,2]": the second comma (the 4th byte) is the unexpected token.
  EXPECT_THAT(parse_error("[1,,2]"), StartsWith("invalid JSON at byte 4:"));
  // The byte count grows with the position of the error.
  std::string late = "[" + std::string(1000, ' ') + "1,,2]";
  EXPECT_THAT(parse_error(late), StartsWith("invalid JSON at byte 1004:"));
}

TEST(JsonParse, MessageDropsNlohmannPrefix) {
  std::string m = parse_error("[1,,2]");
  EXPECT_EQ(m.find("[json.exception"), std::string::npos) << m;
  EXPECT_THAT(m, HasSubstr("syntax error"));
}

TEST(JsonParse, EmptyAndTruncatedInput) {
  for (const char* bad : {"", "   ", "{", "[", "{\"a\"", "{\"a\":", "{\"a\": [1, 2", "[{\"a\": 1}",
                          "\"abc", "\"abc\\", "[1, 2, {\"b\": tr", "-1e", "\"\\ud83d\""}) {
    EXPECT_THAT(parse_error(bad), StartsWith("invalid JSON at byte ")) << bad;
  }
}

TEST(JsonParse, NulBytesRejected) {
  using namespace std::string_literals;
  for (const std::string& bad :
       {"\0"s, "{}\0"s, "[1]\0 "s, "\"a\0b\""s, "[\0]"s, "{\"a\0\": 1}"s, "\0{}"s}) {
    EXPECT_THAT(parse_error(bad), StartsWith("invalid JSON at byte ")) << bad.size();
  }
}

TEST(JsonParse, NulAfterADocumentDoesNotEndTheInput) {
  using namespace std::string_literals;
  EXPECT_EQ(parse_error("{}\0junk"s), "invalid JSON at byte 3: NUL byte");
  EXPECT_EQ(parse_error("[1]\0"s), "invalid JSON at byte 4: NUL byte");
}

TEST(JsonParse, InvalidUtf8Rejected) {
  for (const char* bad : {
           "\"\xff\"",              // never valid
           "\"\x80\"",              // lone continuation byte
           "\"\xc3\"",              // truncated two-byte sequence
           "\"\xc0\xaf\"",          // overlong '/'
           "\"\xe0\x80\xaf\"",      // overlong three-byte
           "\"\xed\xa0\x80\"",      // UTF-16 surrogate encoded in UTF-8
           "\"\xf4\x90\x80\x80\"",  // beyond U+10FFFF
           "{\"\xfe\": 1}",         // in a key
       }) {
    EXPECT_THAT(parse_error(bad), StartsWith("invalid JSON at byte ")) << bad;
  }
}

TEST(JsonParse, RawControlCharactersInStringsRejected) {
  EXPECT_THAT(parse_error("\"a\nb\""), StartsWith("invalid JSON at byte "));
  EXPECT_THAT(parse_error("\"a\tb\""), StartsWith("invalid JSON at byte "));
}

TEST(JsonParse, AcceptsTextNotNulTerminated) {
  const std::string buffer = "[1, 2]garbage";
  Json j = parse_json(std::string_view(buffer).substr(0, 6));
  EXPECT_EQ(j, Json::array({1, 2}));
}

TEST(JsonAppendMember, AppendsInOrderWithoutSearching) {
  Json object = Json::object();
  append_member(object, "b", 1);
  append_member(object, "a", Json::array({1}));
  append_member(object, "c", "x");
  EXPECT_EQ(keys_of(object), (std::vector<std::string>{"b", "a", "c"}));
  EXPECT_EQ(object.dump(), R"({"b":1,"a":[1],"c":"x"})");
  EXPECT_EQ(object["a"], Json::array({1}));
}

TEST(JsonAppendMember, BuildsLargeObjectsInOrder) {
  Json object = Json::object();
  for (int i = 100'000; i > 0; --i) append_member(object, std::to_string(i), i);
  ASSERT_EQ(object.size(), 100'000u);
  EXPECT_EQ(object.begin().key(), "100000");
  EXPECT_EQ(std::prev(object.end()).key(), "1");
  // And it survives a dump/parse round trip unchanged.
  EXPECT_EQ(parse_json(object.dump()), object);
}

// Collects what it is handed: the members of every container at `wanted`.
class CollectingSink : public JsonMemberSink {
 public:
  explicit CollectingSink(std::vector<std::string> wanted) : wanted_(std::move(wanted)) {}
  bool takes(const std::vector<std::string>& path, bool) override { return path == wanted_; }
  void take(const std::vector<std::string>& path, std::string key, Json value) override {
    EXPECT_EQ(path, wanted_);
    taken.emplace_back(std::move(key), std::move(value));
  }
  std::vector<std::pair<std::string, Json>> taken;

 private:
  std::vector<std::string> wanted_;
};

TEST(JsonParseWithSink, HandsOverTheMembersOfTheChosenContainerAndLeavesItEmpty) {
  CollectingSink sink({"a", "tasks"});
  const Json j =
      parse_json(R"({"tasks":{"x":1},"a":{"tasks":{"t1":{"n":[1]},"t2":2},"b":3}})", sink);
  EXPECT_EQ(j.dump(), R"({"tasks":{"x":1},"a":{"tasks":{},"b":3}})");
  ASSERT_EQ(sink.taken.size(), 2u);
  EXPECT_EQ(sink.taken[0].first, "t1");
  EXPECT_EQ(sink.taken[0].second.dump(), R"({"n":[1]})");
  EXPECT_EQ(sink.taken[1], (std::pair<std::string, Json>{"t2", 2}));
}

TEST(JsonParseWithSink, ArrayElementsHaveNoKeyAndArraysInsideAreNotChosenByIndex) {
  CollectingSink sink({"list"});
  const Json j = parse_json(R"({"list":[{"id":"a"},[{"list":1}]]})", sink);
  EXPECT_EQ(j.dump(), R"({"list":[]})");
  ASSERT_EQ(sink.taken.size(), 2u);
  EXPECT_EQ(sink.taken[0].first, "");
  EXPECT_EQ(sink.taken[1].second.dump(), R"([{"list":1}])");
}

TEST(JsonParseWithSink, StillRefusesDuplicateKeysDepthAndMalformedText) {
  CollectingSink sink({"m"});
  EXPECT_THROW(parse_json(R"({"m":{"a":1,"b":2,"a":3}})", sink), Error);
  EXPECT_THROW(parse_json(R"({"m":{"a":1)", sink), Error);
  EXPECT_THROW(parse_json(std::string(100, '[') + std::string(100, ']'), sink), Error);
  try {
    parse_json(R"({"m":{"a":1,"a":2}})", sink);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("duplicate key 'a'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace harness
