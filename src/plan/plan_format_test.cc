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
  for (const char* name : {"json", "markdown", "speckit"})
    EXPECT_EQ(to_string(parse_plan_format(name)), name);
  try {
    parse_plan_format("yaml");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "unknown plan format 'yaml' (expected one of json, markdown, speckit)");
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
      "- [ ] T001 again\n~~~\n";
  std::vector<std::string> lines;
  std::istringstream in(plan);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::mt19937 random(15);
  for (int round = 0; round < 2000; ++round) {
    std::string text;
    for (std::size_t n = random() % (2 * lines.size()); n > 0; --n)
      text += lines[random() % lines.size()] + "\n";
    for (const PlanFormat format : {PlanFormat::kMarkdown, PlanFormat::kSpeckit}) {
      for (const bool parallel : {false, true}) {
        try {
          validate_workflow(parse_plan(text, {format, parallel}, "p").workflow);
        } catch (const Error& e) {
          EXPECT_EQ(e.kind(), Error::Kind::kInvalidArgument) << text;
          EXPECT_EQ(std::string(e.what()).rfind("p line ", 0), 0u) << e.what() << "\n" << text;
        }
      }
    }
  }
}

}  // namespace
}  // namespace harness
