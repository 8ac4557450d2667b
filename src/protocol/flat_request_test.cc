#include "protocol/flat_request.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protocol/request_codec.h"

namespace harness {
namespace {

// Lines the hot path takes: what the CLI, agents' hooks and harness-bench send.
const std::vector<std::string> kHotLines = {
    R"({"command":"task_claim","worker_id":"w1"})",
    R"({"command":"task_complete","task_id":"t-17","worker_id":"host:1234"})",
    R"({"command":"task_complete","task_id":"t","worker_id":"w","commit":"0a1b2c"})",
    R"({"command":"task_complete","task_id":"t","worker_id":"w","commit":null})",
    R"( { "worker_id" : "w 1" , "command" : "task_claim" } )",
    "{\t\"command\":\"ping\"\r}",
    R"({"command":"ping","extra":true,"more":false,"none":null,"":"empty key"})",
    R"({"command":"get_state"})",
    R"({"command":"status"})",
    R"({"command":"shutdown"})",
};

// Lines it leaves to the full parser: some valid, some not.
const std::vector<std::string> kOtherLines = {
    "",
    "{}",
    "[]",
    "null",
    R"("task_claim")",
    R"({"command":"task_claim"})",
    R"({"command":"task_claim","worker_id":""})",
    R"({"command":"task_claim","worker_id":null})",
    R"({"command":"task_claim","worker_id":true})",
    R"({"command":"task_claim","worker_id":7})",
    R"({"command":"task_claim","worker_id":"w\u00e9"})",
    R"({"command":"task_claim","worker_id":"w\"1"})",
    "{\"command\":\"task_claim\",\"worker_id\":\"w\xc3\xa9\"}",
    "{\"command\":\"task_claim\",\"worker_id\":\"w\x01\"}",
    R"({"command":"task_claim","worker_id":"w1","worker_id":"w2"})",
    R"({"command":"task_claim","worker_id":"w1"} x)",
    R"({"command":"task_claim","worker_id":"w1"})"
    R"({"command":"ping"})",
    R"({"command":"task_claim","worker_id":"w1",})",
    R"({"command":"task_claim" "worker_id":"w1"})",
    R"({"command":"task_claim","worker_id":"w1")",
    R"({"command":"task_claim","worker_id":"w1)",
    R"({"command":"task_complete","task_id":"t","worker_id":"w","commit":""})",
    R"({"command":"task_complete","task_id":"t","worker_id":"w","commit":false})",
    R"({"command":"task_complete","worker_id":"w"})",
    R"({"command":null})",
    R"({"command":true})",
    R"({"command":"nope"})",
    R"({"command":"exec","args":["true"]})",
    R"({"command":"update_state","updates":{"tasks":{}}})",
    R"({"command":"plan_import","file":"/tmp/plan.json"})",
    R"({"command":"ping","a":"1","b":"2","c":"3","d":"4","e":"5","f":"6","g":"7","h":"8"})",
    R"({"command":"ping","timeout":1})",
    R"({"command":"ping","flag":tru})",
    R"({"command":"ping","flag":nul})",
};

using Outcome = std::variant<Request, std::string>;  // a request, or an error's message

// What the full parser makes of `line`.
Outcome fully(const std::string& line) {
  try {
    return parse_request_fully(line);
  } catch (const std::exception& e) {
    return std::string(e.what());
  }
}

TEST(FlatRequest, TakesHotRequestsAsTheFullParserDoes) {
  for (const std::string& line : kHotLines) {
    const std::optional<Request> flat = parse_flat_request(line);
    ASSERT_TRUE(flat.has_value()) << line;
    EXPECT_EQ(fully(line), Outcome(*flat)) << line;
  }
  const auto complete = std::get<CompleteRequest>(*parse_flat_request(kHotLines[2]));
  EXPECT_EQ(complete.task_id, "t");
  EXPECT_EQ(complete.worker_id, "w");
  EXPECT_EQ(complete.commit, "0a1b2c");
  EXPECT_EQ(std::get<CompleteRequest>(*parse_flat_request(kHotLines[3])).commit, std::nullopt);
  EXPECT_EQ(std::get<ClaimRequest>(*parse_flat_request(kHotLines[4])).worker_id, "w 1");
}

TEST(FlatRequest, LeavesEverythingElseToTheFullParser) {
  for (const std::string& line : kOtherLines)
    EXPECT_EQ(parse_flat_request(line), std::nullopt) << line;
}

// Every prefix, every line with one byte dropped and every line with one byte replaced: where
// the hot path takes one, the full parser must make the same request of it.
TEST(FlatRequest, AgreesWithTheFullParserOnEveryVariation) {
  std::vector<std::string> lines;
  for (const std::string& line : kHotLines) {
    for (std::size_t i = 0; i < line.size(); ++i) {
      lines.push_back(line.substr(0, i));
      lines.push_back(line.substr(0, i) + line.substr(i + 1));
      for (const char c : std::string_view("\"{}:,\\ n0\xff"))
        lines.push_back(line.substr(0, i) + c + line.substr(i + 1));
    }
  }
  std::size_t taken = 0;
  for (const std::string& line : lines) {
    const std::optional<Request> flat = parse_flat_request(line);
    if (!flat) continue;
    ++taken;
    EXPECT_EQ(fully(line), Outcome(*flat)) << line;
  }
  EXPECT_GT(taken, 100u);  // the variations do reach the hot path
}

}  // namespace
}  // namespace harness
