#include "protocol/bulk_request.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/error.h"
#include "protocol/request_codec.h"

namespace harness {
namespace {

TEST(BulkCommandOf, NamesThePlanCommandOfTheFirstMember) {
  EXPECT_EQ(bulk_command_of(R"({"command":"update_state","updates":)"), "update_state");
  EXPECT_EQ(bulk_command_of(" {\n\t\"command\" :  \"plan_import\", \"tasks\""), "plan_import");
  EXPECT_EQ(bulk_command_of(R"({"command":"plan_import")"), "plan_import");
}

TEST(BulkCommandOf, RefusesEverythingElse) {
  for (const char* start : {
           R"({"command":"ping","pad":")",
           R"({"updates":{},"command":"update_state"})",  // not the first member
           R"({"command":"update_stat)",                  // ends inside the name
           R"({"command":"update_states"})",
           R"({"command" "update_state")",
           R"(["command","update_state"])",
           "{\"command\":\0\"update_state\"",
           "",
       })
    EXPECT_EQ(bulk_command_of(start), std::nullopt) << start;
}

// Lines that must parse to the same request as through the full parser.
const std::vector<std::string> kPlanLines = {
    R"({"command":"update_state","updates":{"tasks":{"a":{"description":"A"},"b":{"dependencies":["a"],"status":"completed"}}}})",
    R"({"command":"update_state","updates":{"goal":"ship","tasks":[{"id":"a"},{"id":"b","instructions":"do it"}]}})",
    R"({"command":"update_state","updates":{"tasks":{}}})",
    R"({"command":"plan_import","tasks":[{"id":"a"},{"id":"b","dependencies":["a"]}],"force":true})",
    R"({"command":"plan_import","tasks":{"tasks":{"a":{},"b":{"id":"b"}},"goal":"g"}})",
    R"({"command":"plan_import","tasks":{"a":{"description":"map form"},"b":{}}})",
    R"({"command":"plan_import","tasks":{"goal":"g","tasks":[{"id":"z"}],"other":1}})",
    R"({"command":"plan_import","file":"/tmp/plan.md","format":"markdown","parallel":true})",
    "{ \"command\" : \"update_state\" , \"updates\" : { \"tasks\" : { \"a\" : { } } } }",
};

TEST(ParseBulkRequest, GivesTheSameRequestAsTheFullParser) {
  for (const std::string& line : kPlanLines) {
    SCOPED_TRACE(line);
    EXPECT_EQ(parse_bulk_request(line), parse_request_fully(line));
  }
}

TEST(ParseBulkRequest, KeepsPlanOrderAcrossManyTasks) {
  std::string line = R"({"command":"plan_import","tasks":{"tasks":{)";
  for (int i = 0; i < 5000; ++i) line += (i ? "," : "") + ("\"t" + std::to_string(i) + "\":{}");
  line += "}}}";
  const Request request = parse_bulk_request(line);
  EXPECT_EQ(request, parse_request_fully(line));
  const auto& tasks = std::get<PlanImportRequest>(request).workflow->tasks;
  ASSERT_EQ(tasks.size(), 5000u);
  EXPECT_EQ(tasks.front().id, "t0");
  EXPECT_EQ(tasks.back().id, "t4999");
}

// Each bad line is refused with the message the full parser gives.
TEST(ParseBulkRequest, RefusesWhatTheFullParserRefusesWithItsMessage) {
  const std::vector<std::string> bad = {
      R"({"command":"update_state","updates":{"tasks":{"a":{"dependencies":"b"}}}})",
      R"({"command":"update_state","updates":{"tasks":{"a":{},"a":{}}}})",
      R"({"command":"update_state","updates":{"tasks":[{"id":"a"},5]}})",
      R"({"command":"update_state","updates":{"tasks":5}})",
      R"({"command":"update_state","updates":{"goal":"no tasks"}})",
      R"({"command":"plan_import","tasks":{"tasks":{"a":{"status":"bogus"}}}})",
      R"({"command":"plan_import","tasks":[{"id":"a"}],"file":"/tmp/x"})",
      R"({"command":"plan_import","tasks":[{"id":"a"}],"force":"yes"})",
      R"({"command":"plan_import","tasks":[{"id":"a"})",
      R"({"command":"update_state","updates":{"tasks":{}}} trailing)",
  };
  for (const std::string& line : bad) {
    SCOPED_TRACE(line);
    std::string expected;
    try {
      parse_request_fully(line);
      ADD_FAILURE() << "the full parser accepts it";
    } catch (const Error& e) {
      expected = e.what();
    }
    try {
      parse_bulk_request(line);
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), Error::Kind::kInvalidArgument);
      EXPECT_EQ(std::string(e.what()), expected);
    }
  }
}

TEST(ParseBulkRequest, RefusesALineThatIsNoPlanRequest) {
  EXPECT_THROW(parse_bulk_request(R"({"command":"ping"})"), Error);
}

}  // namespace
}  // namespace harness
