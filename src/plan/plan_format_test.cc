#include "plan/plan_format.h"

#include <fstream>

#include <gtest/gtest.h>

#include "core/error.h"
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

}  // namespace
}  // namespace harness
