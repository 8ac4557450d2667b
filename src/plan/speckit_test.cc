#include "plan/speckit.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "plan/plan_queries_test.h"

namespace harness {
namespace {

using namespace plan_test;  // NOLINT: the importers' test queries

ParsedPlan parse(const std::string& text) { return parse_speckit_plan(text, "tasks.md"); }

std::string error_of(const std::string& text) {
  return refusal_of([&] { parse(text); });
}

TEST(SpeckitPlan, TasksWithMarkersAndDescriptions) {
  const ParsedPlan plan = parse(
      "# Tasks: Feature\n\n## Phase 1: Setup\n\n- [ ] T001 Create project structure\n"
      "- [ ] T002 [P] [US1] Create User model in src/models/user.py\n");
  EXPECT_EQ(ids(plan), (Ids{"T001", "T002"}));
  EXPECT_EQ(task(plan, "T001").description, "Create project structure");
  EXPECT_EQ(task(plan, "T002").description, "Create User model in src/models/user.py");
}

TEST(SpeckitPlan, CheckedBoxesAreCompleted) {
  const ParsedPlan plan = parse("- [x] T001 a\n- [X] T002 b\n- [ ] T003 c\n");
  EXPECT_EQ(task(plan, "T001").status, TaskStatus::kCompleted);
  EXPECT_EQ(task(plan, "T002").status, TaskStatus::kCompleted);
  EXPECT_EQ(task(plan, "T003").status, TaskStatus::kPending);
}

TEST(SpeckitPlan, EachPhaseDependsOnAllOfThePhaseBefore) {
  const ParsedPlan plan = parse(
      "## Phase 1: Setup\n- [ ] T001 [P] a\n- [ ] T002 [P] b\n## Phase 2: Core\n- [ ] T003 [P] c\n"
      "## Phase 3: Polish\n- [ ] T004 [P] d\n");
  EXPECT_TRUE(task(plan, "T002").dependencies.empty());
  EXPECT_EQ(task(plan, "T003").dependencies, (Ids{"T001", "T002"}));
  EXPECT_EQ(task(plan, "T004").dependencies, Ids{"T003"});
}

TEST(SpeckitPlan, WithinAPhaseOnlyTasksWithoutPFollowTheOneBefore) {
  const ParsedPlan plan =
      parse("## Phase 1: Setup\n- [ ] T001 a\n- [ ] T002 b\n- [ ] T003 [P] c\n- [ ] T004 d\n");
  EXPECT_TRUE(task(plan, "T001").dependencies.empty());
  EXPECT_EQ(task(plan, "T002").dependencies, Ids{"T001"});
  EXPECT_TRUE(task(plan, "T003").dependencies.empty());
  EXPECT_EQ(task(plan, "T004").dependencies, Ids{"T003"});
}

TEST(SpeckitPlan, PhaseHeadingVariants) {
  const ParsedPlan plan = parse(
      "## Phase 3.1: Setup\n- [ ] T001 a\n### Phase 3.2：Tests First\n- [ ] T002 [P] b\n"
      "## Phase 4 - Polish\n- [ ] T003 [P] c\n");
  EXPECT_EQ(task(plan, "T002").dependencies, Ids{"T001"});
  EXPECT_EQ(task(plan, "T003").dependencies, Ids{"T002"});
}

TEST(SpeckitPlan, SubsectionsStayInTheirPhaseAndAPhaseWithoutTasksIsSkipped) {
  const ParsedPlan plan = parse(
      "## Phase 1: Setup\n### Tests\n- [ ] T001 a\n### Implementation\n- [ ] T002 b\n"
      "## Phase 2: Empty\nNothing yet.\n## Phase 3: Polish\n- [ ] T003 [P] c\n");
  EXPECT_EQ(task(plan, "T002").dependencies, Ids{"T001"});
  EXPECT_EQ(task(plan, "T003").dependencies, (Ids{"T001", "T002"}));
}

TEST(SpeckitPlan, CheckboxesWithoutAnIdAreNotTasks) {
  const ParsedPlan plan =
      parse("## Phase 1: Setup\n- [ ] T001 a\n- [ ] Review the spec\n- [x] TODO later\n");
  EXPECT_EQ(ids(plan), Ids{"T001"});
}

TEST(SpeckitPlan, TasksInFencedCodeAreText) {
  const ParsedPlan plan = parse("- [ ] T001 a\n```\n- [ ] T002 fake\n```\n");
  EXPECT_EQ(ids(plan), Ids{"T001"});
}

TEST(SpeckitPlan, LinesIndentedUnderATaskAreItsInstructions) {
  const ParsedPlan plan = parse("- [ ] T001 a\n  - step one\n\n  - step two\nNot the task's.\n");
  EXPECT_EQ(task(plan, "T001").instructions, "- step one\n\n- step two");
}

TEST(SpeckitPlan, ErrorsNameTheLines) {
  EXPECT_EQ(error_of("## Phase 1: Setup\n- [ ] T001 a\n\n- [ ] T001 b\n"),
            "tasks.md line 4: task T001 is listed twice (line 2 and line 4); expected unique "
            "task ids");
  EXPECT_EQ(error_of("# Tasks\n- [ ] no id\n"),
            "tasks.md line 1: expected tasks such as '- [ ] T001 Description', found none");
}

TEST(SpeckitPlan, DetectionSeesTaskLines) {
  EXPECT_TRUE(is_speckit_task_line("- [ ] T001 a"));
  EXPECT_TRUE(is_speckit_task_line("  * [x] T12: b"));
  EXPECT_FALSE(is_speckit_task_line("- [ ] Tidy up"));
  EXPECT_FALSE(is_speckit_task_line("T001 a"));
}

}  // namespace
}  // namespace harness
