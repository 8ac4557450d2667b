#include "plan/plan_format.h"

#include <fstream>
#include <random>
#include <sstream>

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/workflow.h"
#include "testing/temp_dir.h"

namespace harness {
namespace {

TEST(PlanFormat, NamesRoundTripAndUnknownOnesAreRefused) {
  for (const char* name : {"json", "markdown", "speckit", "xml", "taskmaster", "beads"})
    EXPECT_EQ(to_string(parse_plan_format(name)), name);
  EXPECT_EQ(plan_formats().size(), 6u);
  try {
    parse_plan_format("yaml");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "unknown plan format 'yaml' (expected one of json, markdown, speckit, xml, "
                 "taskmaster, beads)");
  }
}

TEST(PlanFormat, DetectionFromContentAndExtension) {
  EXPECT_EQ(detect_plan_format("## Task 1: A\n", "x.json"), PlanFormat::kJson);
  EXPECT_EQ(detect_plan_format("  {\"tasks\": []}", "plan"), PlanFormat::kJson);
  EXPECT_EQ(detect_plan_format("[]", "plan.md"), PlanFormat::kJson);
  EXPECT_EQ(detect_plan_format("# P\n## Task 1: A\n- [ ] T001 x\n", "plan"), PlanFormat::kMarkdown);
  EXPECT_EQ(detect_plan_format("## Phase 1: S\n- [ ] T001 x\n", "plan.txt"), PlanFormat::kSpeckit);
  EXPECT_EQ(detect_plan_format("```\n## Task 1: A\n```\n- [ ] T001 x\n", ""), PlanFormat::kSpeckit);
  EXPECT_EQ(detect_plan_format("# Nothing\n", "plan.md"), PlanFormat::kMarkdown);
  EXPECT_EQ(detect_plan_format("nothing", "plan.txt"), PlanFormat::kJson);
}

TEST(PlanFormat, DetectionOfXmlTaskmasterAndBeads) {
  EXPECT_EQ(detect_plan_format("<?xml version=\"1.0\"?><plan/>", "plan"), PlanFormat::kXml);
  EXPECT_EQ(detect_plan_format("whatever", "plan.xml"), PlanFormat::kXml);
  EXPECT_EQ(detect_plan_format("{\"master\": {\"tasks\": []}}", "tasks.json"),
            PlanFormat::kTaskmaster);
  EXPECT_EQ(
      detect_plan_format("{\n  \"tasks\": [\n    {\"id\": 1, \"title\": \"A\"}\n  ]\n}\n", "x"),
      PlanFormat::kTaskmaster);
  EXPECT_EQ(detect_plan_format("{\n  \"tasks\": {\"a\": {}}\n}\n", "x"), PlanFormat::kJson);
  EXPECT_EQ(detect_plan_format("{\"tasks\": [{\"id\": \"a\"}]}", "x"), PlanFormat::kJson);
  EXPECT_EQ(detect_plan_format("{\"id\":\"a\"}\n{\"id\":\"b\"}\n", "x"), PlanFormat::kBeads);
  EXPECT_EQ(detect_plan_format("{\"id\":\"a\",\"title\":\"A\"}\n", "x"), PlanFormat::kBeads);
  EXPECT_EQ(detect_plan_format("anything", "issues.jsonl"), PlanFormat::kBeads);
  EXPECT_EQ(detect_plan_format("{\"tasks\": [", "x.json"), PlanFormat::kJson);
}

TEST(PlanFormat, TheTagAndTheGoalReachTheWorkflow) {
  const std::string tagged = R"({"a": {"tasks": [{"id": 1}]}, "b": {"tasks": [{"id": 2}],
      "metadata": {"description": "B's goal"}}})";
  PlanOptions options;
  options.tag = "b";
  const ParsedPlan plan = parse_plan(tagged, options, "p");
  EXPECT_EQ(plan.workflow.tasks[0].id, "2");
  EXPECT_EQ(plan.goal, "B's goal");
  EXPECT_EQ(plan.workflow.goal, "B's goal");
  EXPECT_EQ(parse_plan(R"({"goal": "g", "tasks": {"a": {}}})", {}, "p").goal, "g");
}

TEST(PlanFormat, ParseDispatchesToTheFormat) {
  EXPECT_EQ(parse_plan("## Task 1: A\n## Task 2: B\n", {}, "p").workflow.tasks[1].dependencies,
            std::vector<std::string>{"1"});
  EXPECT_TRUE(parse_plan("## Task 1: A\n## Task 2: B\n", {PlanFormat::kMarkdown, true}, "p")
                  .workflow.tasks[1]
                  .dependencies.empty());
  EXPECT_EQ(parse_plan("- [ ] T001 a\n", {}, "p").workflow.tasks[0].id, "T001");
  EXPECT_EQ(parse_plan(R"({"tasks": {"a": {}}})", {}, "p").workflow.tasks[0].id, "a");
  EXPECT_THROW(parse_plan("## Task 1: A\n", {PlanFormat::kJson, false}, "p"), Error);
}

TEST(PlanFormat, AFileIsReadValidatedAndNamedInErrors) {
  test_support::TempDir dir("harness-plan-format");
  const std::string good = (dir.path() / "plan.md").string();
  std::ofstream(good) << "**Goal:** g\n## Task 1: A\n## Task 2: B\n";
  const PlanFile read = read_plan_in_format(good, {});
  EXPECT_EQ(read.format, PlanFormat::kMarkdown);
  EXPECT_EQ(read.plan.goal, "g");
  EXPECT_EQ(read.plan.workflow.tasks.size(), 2u);
  const std::string bad = (dir.path() / "bad.md").string();
  std::ofstream(bad) << "## Task 1: A\n## Task 1: B\n";
  try {
    read_plan_in_format(bad, {});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "plan file " + bad +
                                         ": line 2: task 1 is defined twice (line 1 and line 2); "
                                         "expected unique task ids");
  }
}

// Plans cut and shuffled at random (a fixed seed, so a failure repeats): every format either
// reads a valid DAG or throws Error::invalid, never anything else.
TEST(PlanFormat, DamagedPlansGiveAValidWorkflowOrAnError) {
  const std::string plan =
      "**Goal:** g\n## Task 1: A\n```md\n## Task 9: x\n```py\n```\n```\n## Task 2: B\n"
      "### Task 2a: C\n## Parallel Groups\n| Task Group | Tasks |\n|---|---|\n"
      "| Group 1 | 1, 2a |\n| Group 2 | 2 |\n**Group 3:** Tasks 1-2\n## Task 3: D\n"
      "## Phase 1: S\n- [ ] T001 [P] a\n- [x] T002 b\n  more\n## Phase 2：T\n- [ ] T003 c\n"
      "- [ ] T001 again\n~~~\n**Depends on:** Task 2, Task 9\n**Depends on:** none\n"
      "<plan goal=\"g\">\n<task id=\"a\"><dep to=\"b\"/></task>\n<task id=\"b\" depends=\"a\"/>\n"
      "<dependencies><dep from=\"a\" to=\"b,c\"/></dependencies>\n</plan>\n<!DOCTYPE plan>\n"
      "{\"id\":\"b-1\",\"title\":\"A\",\"dependencies\":[{\"depends_on_id\":\"b-2\"}]}\n"
      "{\"id\":\"b-2\",\"status\":\"closed\",\"dependencies\":[{\"depends_on_id\":\"b-1\"}]}\n"
      "{\"tasks\": [{\"id\": 1, \"subtasks\": [{\"id\": 1, \"dependencies\": [2]}]}, {\"id\": "
      "2}]}\n"
      "{\"master\": {\"tasks\": [{\"id\": 1, \"dependencies\": [\"1.1\"]}]}}\n";
  std::vector<std::string> lines;
  std::istringstream in(plan);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::mt19937 random(15);
  for (int round = 0; round < 2000; ++round) {
    std::string text;
    for (std::size_t n = random() % (2 * lines.size()); n > 0; --n)
      text += lines[random() % lines.size()] + "\n";
    for (const PlanFormat format : plan_formats()) {
      for (const bool parallel : {false, true}) {
        ParsedPlan plan;
        try {
          plan = parse_plan(text, {format, parallel}, "p");
        } catch (const Error& e) {
          EXPECT_EQ(e.kind(), Error::Kind::kInvalidArgument) << text;
          // JSON documents' errors name a path or a line; the line formats' a line.
          const bool named =
              std::string(e.what()).rfind("p line ", 0) == 0 ||
              (format == PlanFormat::kTaskmaster && std::string(e.what()).rfind("p ", 0) == 0) ||
              format == PlanFormat::kJson;
          EXPECT_TRUE(named) << e.what() << "\n" << text;
          continue;
        }
        try {
          validate_workflow(plan.workflow);
        } catch (const Error& e) {
          EXPECT_EQ(e.kind(), Error::Kind::kInvalidArgument) << text;
        }
      }
    }
  }
}

}  // namespace
}  // namespace harness
