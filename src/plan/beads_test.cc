#include "plan/beads.h"

#include <gtest/gtest.h>

#include "plan/plan_queries_test.h"

namespace harness {
namespace {

using namespace plan_test;  // NOLINT: the importers' test queries

ParsedPlan parse(const std::string& text) { return parse_beads_plan(text, "issues.jsonl"); }

std::string error_of(const std::string& text) {
  return refusal_of([&] { parse(text); });
}

TEST(BeadsPlan, IssuesBlocksEdgesAndFields) {
  const ParsedPlan plan = parse(
      R"({"id":"bd-1","title":"Schema","description":"Write it.","design":"Tables.","notes":"Ask Bo.","acceptance_criteria":"Migrates.","status":"closed","priority":0,"issue_type":"task"}

{"id":"bd-2","title":"API","status":"in_progress","priority":1,"issue_type":"feature","labels":["backend","v2"],"dependencies":[{"issue_id":"bd-2","depends_on_id":"bd-1","type":"blocks","created_at":"2025-01-01T00:00:00Z"}]}
{"id":"bd-3","title":"UI","status":"open","dependencies":[{"issue_id":"bd-3","depends_on_id":"bd-2","type":"blocks"},{"issue_id":"bd-3","depends_on_id":"bd-1","type":"related"},{"issue_id":"bd-3","depends_on_id":"bd-9","type":"discovered-from"}]}
)");
  EXPECT_EQ(ids(plan), (Ids{"bd-1", "bd-2", "bd-3"}));
  const Task& schema = task(plan, "bd-1");
  EXPECT_EQ(schema.description, "Schema");
  EXPECT_EQ(schema.status, TaskStatus::kCompleted);
  EXPECT_EQ(schema.priority, 2);
  EXPECT_EQ(schema.instructions, "Write it.\n\nDesign:\nTables.\n\nNotes:\nAsk Bo.");
  EXPECT_EQ(schema.packet->success_criteria, "Migrates.");
  EXPECT_EQ(task(plan, "bd-2").status, TaskStatus::kPending);
  EXPECT_EQ(task(plan, "bd-2").priority, 1);
  EXPECT_EQ(task(plan, "bd-2").dependencies, Ids{"bd-1"});
  EXPECT_EQ(task(plan, "bd-2").instructions, "beads: type feature; labels backend, v2");
  // Only blocks orders work; the other links are kept as a note, even to issues not here.
  EXPECT_EQ(task(plan, "bd-3").dependencies, Ids{"bd-2"});
  EXPECT_EQ(task(plan, "bd-3").priority, 0);
  EXPECT_EQ(task(plan, "bd-3").instructions, "beads: related bd-1; discovered-from bd-9");
}

TEST(BeadsPlan, ParentChildIsMetadataAndTombstonesAreNotTasks) {
  const ParsedPlan plan = parse(
      R"({"id":"e-1","title":"Epic","issue_type":"epic"}
{"id":"e-1.1","title":"Child","dependencies":[{"issue_id":"e-1.1","depends_on_id":"e-1","type":"parent-child"},{"depends_on_id":"e-0"}]}
{"id":"e-0","title":"Gone","status":"tombstone"})");
  EXPECT_EQ(ids(plan), (Ids{"e-1", "e-1.1"}));
  EXPECT_TRUE(task(plan, "e-1.1").dependencies.empty());
  EXPECT_EQ(task(plan, "e-1.1").instructions, "beads: parent-child e-1");
}

TEST(BeadsPlan, ErrorsNameTheLine) {
  EXPECT_EQ(error_of("{\"id\":\"a\",\"title\":\"A\"}\n{\"id\":\"b\",\n"),
            "issues.jsonl line 2: expected one JSON object a line: invalid JSON at column 11: "
            "syntax error while parsing object key - unexpected end of input; expected string "
            "literal");
  EXPECT_EQ(error_of("{\"id\":\"a\"}\n[1]\n"),
            "issues.jsonl line 2: expected a beads issue (a JSON object), found a list");
  EXPECT_EQ(error_of("{\"title\":\"A\"}\n"),
            "issues.jsonl line 1: expected an issue with an \"id\"");
  EXPECT_EQ(error_of("{\"id\":\"a\"}\n\n{\"id\":\"a\"}\n"),
            "issues.jsonl line 3: issue a is listed twice (line 1 and line 3); expected unique "
            "issue ids");
  EXPECT_EQ(
      error_of("{\"id\":\"a\",\"dependencies\":[{\"depends_on_id\":\"z\",\"type\":\"blocks\"}]}"),
      "issues.jsonl line 1: dependencies[0]: issue a is blocked by 'z', which is not an "
      "issue of this file");
  EXPECT_EQ(error_of("{\"id\":\"a\",\"priority\":7}"),
            "issues.jsonl line 1: priority: expected a priority from 0 to 4, found 7");
  EXPECT_EQ(error_of("\n\n"),
            "issues.jsonl line 1: expected beads issues, one JSON object a line; found none");
}

TEST(BeadsPlan, DetectionSeesAnIssue) {
  EXPECT_TRUE(looks_like_beads_issue(parse_json(R"({"id":"a","title":"A"})")));
  EXPECT_TRUE(looks_like_beads_issue(parse_json(R"({"id":"a","issue_type":"bug"})")));
  EXPECT_FALSE(looks_like_beads_issue(parse_json(R"({"id":"a","title":"A","tasks":[]})")));
  EXPECT_FALSE(looks_like_beads_issue(parse_json(R"({"a":{"description":"A"}})")));
}

}  // namespace
}  // namespace harness
