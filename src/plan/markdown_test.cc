#include "plan/markdown.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "plan/plan_queries_test.h"

namespace harness {
namespace {

using namespace plan_test;  // NOLINT: the importers' test queries

ParsedPlan parse(const std::string& text, bool parallel = false) {
  return parse_markdown_plan(text, "plan.md", parallel);
}

std::string error_of(const std::string& text) {
  return refusal_of([&] { parse(text); });
}

TEST(MarkdownPlan, TaskHeadingsOfLevelTwoOrThreeWithStringIds) {
  const ParsedPlan plan = parse(
      "# Plan\n## Task 1: First\n### Task 10a: Second\n## Task 1.10: Third\n## Task 1.1 - "
      "Fourth\n");
  EXPECT_EQ(ids(plan), (Ids{"1", "10a", "1.10", "1.1"}));
  EXPECT_EQ(task(plan, "10a").description, "Second");
  EXPECT_EQ(task(plan, "1.1").description, "Fourth");
}

TEST(MarkdownPlan, ATaskWithoutTitleIsNamedByItsId) {
  EXPECT_EQ(parse("## Task 3\nbody\n").workflow.tasks[0].description, "Task 3");
}

TEST(MarkdownPlan, HeadingsWithoutATaskNumberAreNotTasks) {
  const ParsedPlan plan = parse("## Task Overview\n## Task 1: Real\n## Tasks\n");
  EXPECT_EQ(ids(plan), Ids{"1"});
}

TEST(MarkdownPlan, GoalFromABoldLine) {
  EXPECT_EQ(parse("**Goal:** Ship `it`.\n\n## Task 1: A\n").goal, "Ship `it`.");
  EXPECT_EQ(parse("**Goal**: Ship it.\n\n## Task 1: A\n").goal, "Ship it.");
  EXPECT_FALSE(parse("## Task 1: A\n").goal.has_value());
}

TEST(MarkdownPlan, GoalFromAGoalSectionsFirstParagraph) {
  const ParsedPlan plan =
      parse("# Plan\n\n## Goal\n\nMake the\nbuild fast.\n\nMore words.\n\n## Task 1: A\n");
  EXPECT_EQ(plan.goal, "Make the build fast.");
}

TEST(MarkdownPlan, ABoldGoalInsideATaskIsTheTasksText) {
  const ParsedPlan plan = parse("## Task 1: A\n**Goal:** not the plan's\n");
  EXPECT_FALSE(plan.goal.has_value());
  EXPECT_EQ(plan.workflow.tasks[0].instructions, "**Goal:** not the plan's");
}

TEST(MarkdownPlan, TaskBodiesBecomeInstructionsWithoutTrailingRules) {
  const ParsedPlan plan =
      parse("## Task 1: A\n\nDo this.\n\n### Step 1\n\nThen that.\n\n---\n\n## Task 2: B\n\n---\n");
  EXPECT_EQ(task(plan, "1").instructions, "Do this.\n\n### Step 1\n\nThen that.");
  EXPECT_FALSE(task(plan, "2").instructions.has_value());
}

TEST(MarkdownPlan, ASectionAtTheTasksLevelEndsItsBody) {
  const ParsedPlan plan = parse("## Task 1: A\nbody\n## Notes\nnot the task's\n");
  EXPECT_EQ(task(plan, "1").instructions, "body");
}

TEST(MarkdownPlan, WithoutGroupsTasksRunInDocumentOrder) {
  const ParsedPlan plan = parse("## Task 2: B\n## Task 1: A\n## Task 3: C\n");
  EXPECT_TRUE(task(plan, "2").dependencies.empty());
  EXPECT_EQ(task(plan, "1").dependencies, Ids{"2"});
  EXPECT_EQ(task(plan, "3").dependencies, Ids{"1"});
}

TEST(MarkdownPlan, ParallelDropsTheImplicitChain) {
  const ParsedPlan plan = parse("## Task 1: A\n## Task 2: B\n", true);
  for (const Task& t : plan.workflow.tasks) EXPECT_TRUE(t.dependencies.empty()) << t.id;
}

TEST(MarkdownPlan, EachGroupDependsOnEveryTaskOfTheOneBefore) {
  const ParsedPlan plan = parse(
      "## Task 1: A\n## Task 2: B\n## Task 3: C\n## Task 4: D\n\n## Parallel Groups\n\n"
      "| Task Group | Tasks | Rationale |\n|---|---|---|\n| Group 1 | 1, 2 | x |\n"
      "| Group 2 | 3 | y |\n| Group 3 | 4 | z |\n");
  EXPECT_TRUE(task(plan, "1").dependencies.empty());
  EXPECT_TRUE(task(plan, "2").dependencies.empty());
  EXPECT_EQ(task(plan, "3").dependencies, (Ids{"1", "2"}));
  EXPECT_EQ(task(plan, "4").dependencies, Ids{"3"});
}

TEST(MarkdownPlan, ATaskInNoGroupAfterTheGroupsDependsOnEveryTaskBeforeIt) {
  const ParsedPlan plan = parse(
      "## Task 1: A\n## Task 2: B\n## Parallel Groups\n| Group | Tasks |\n|--|--|\n"
      "| Group 1 | 1 |\n| Group 2 | 2 |\n## Task 3: Review\n");
  EXPECT_EQ(task(plan, "3").dependencies, (Ids{"1", "2"}));
}

TEST(MarkdownPlan, GroupsRunInNumericOrder) {
  std::string text;
  for (int i = 1; i <= 10; ++i) text += "## Task " + std::to_string(i) + ": T\n";
  text += "## Task Groups\n| Group | Tasks |\n|---|---|\n";
  for (int i = 10; i >= 1; --i)  // listed backwards: the numbers decide
    text += "| " + std::to_string(i) + " | " + std::to_string(i) + " |\n";
  const ParsedPlan plan = parse(text);
  EXPECT_EQ(task(plan, "10").dependencies, Ids{"9"});
  EXPECT_EQ(task(plan, "2").dependencies, Ids{"1"});
  EXPECT_TRUE(task(plan, "1").dependencies.empty());
}

TEST(MarkdownPlan, GroupTableVariants) {
  const ParsedPlan plan = parse(
      "## Task 1: A\n## Task 2: B\n## Task 3: C\n## Parallel Groups\n"
      "| Parallel Group | Task IDs | Notes |\n|:--|:--:|--|\n| **Group B** | `3` | |\n"
      "| **Group A** | Task 1, Task 2 | |\n");
  EXPECT_EQ(task(plan, "3").dependencies, (Ids{"1", "2"}));  // A before B
}

TEST(MarkdownPlan, BoldGroupLinesWithRanges) {
  const ParsedPlan plan = parse(
      "## Task 1: A\n## Task 2: B\n## Task 3: C\n## Task 4: D\n## Task 5: E\n"
      "## Parallel Execution\n\n**Group 1:** Tasks 1-3 (independent)\n"
      "- **Group 2:** Task 4 and Task 5\n");
  EXPECT_EQ(task(plan, "4").dependencies, (Ids{"1", "2", "3"}));
  EXPECT_EQ(task(plan, "5").dependencies, (Ids{"1", "2", "3"}));
  EXPECT_TRUE(task(plan, "3").dependencies.empty());
}

TEST(MarkdownPlan, GroupLinesAsNumberedItemsAndWithDashes) {
  const ParsedPlan plan = parse(
      "## Task 1: A\n## Task 2: B\n## Task 3: C\n## Groups\n1. **Group 1 (setup)**: 1\n"
      "2. Group 2 — Tasks 2, 3\n");
  EXPECT_EQ(task(plan, "2").dependencies, Ids{"1"});
  EXPECT_EQ(task(plan, "3").dependencies, Ids{"1"});
}

TEST(MarkdownPlan, AGroupTableWithoutAHeadingOfItsOwnStillCounts) {
  const ParsedPlan plan = parse(
      "## Task 1: A\n## Task 2: B\nSee the table.\n\n| Group | Tasks |\n|---|---|\n"
      "| 1 | 2 |\n| 2 | 1 |\n");
  EXPECT_EQ(task(plan, "1").dependencies, Ids{"2"});
  EXPECT_TRUE(task(plan, "2").dependencies.empty());
}

TEST(MarkdownPlan, AnOrdinaryTableInATaskIsText) {
  const ParsedPlan plan =
      parse("## Task 1: A\n| Name | Value |\n|--|--|\n| x | 1 |\n## Task 2: B\n");
  EXPECT_EQ(task(plan, "2").dependencies, Ids{"1"});
}

TEST(MarkdownPlan, AByteOrderMarkIsNotText) {
  EXPECT_EQ(ids(parse("\xEF\xBB\xBF## Task 1: A\n")), Ids{"1"});
}

TEST(MarkdownPlan, RangesOfNonNumericIdsFollowTheDocument) {
  const ParsedPlan plan = parse(
      "## Task 2a: A\n## Task 2b: B\n## Task 2c: C\n## Task 3: D\n"
      "---\n**Group 1:** 2a–2c\n**Group 2:** 3\n");
  EXPECT_EQ(task(plan, "3").dependencies, (Ids{"2a", "2b", "2c"}));
}

TEST(MarkdownPlan, StructureInsideFencedCodeIsText) {
  const ParsedPlan plan = parse(
      "**Goal:** real\n## Task 1: A\n```markdown\n## Task 9: fake\n**Goal:** fake\n"
      "| Group | Tasks |\n|--|--|\n| 1 | 9 |\n```\n## Task 2: B\n~~~\n## Task 8: fake\n~~~\n");
  EXPECT_EQ(ids(plan), (Ids{"1", "2"}));
  EXPECT_EQ(plan.goal, "real");
  EXPECT_EQ(task(plan, "2").dependencies, Ids{"1"});
  EXPECT_NE(task(plan, "1").instructions->find("## Task 9: fake"), std::string::npos);
}

TEST(MarkdownPlan, FencesNestedInFencesAreText) {
  const ParsedPlan plan = parse(
      "## Task 1: A\n````markdown\n```python\n## Task 7: fake\n```\n## Task 8: fake\n````\n"
      "## Task 2: B\n```markdown\n## Task 5: fake\n```bash\nls\n```\n## Task 6: fake\n```\n"
      "## Task 3: C\n");
  EXPECT_EQ(ids(plan), (Ids{"1", "2", "3"}));
}

TEST(MarkdownPlan, IndentedFencesInListsAreCode) {
  EXPECT_EQ(ids(parse("## Task 1: A\n1. Step\n   ```\n## Task 2: fake\n   ```\n")), Ids{"1"});
}

TEST(MarkdownPlan, AnUnclosedNestedReadingFallsBackToCommonMark) {
  // "```python" inside a block would open a nested one that is never closed.
  const ParsedPlan plan = parse("## Task 1: A\n```\n```python\n## Task 2: B\n");
  EXPECT_EQ(ids(plan), Ids{"1"});  // CommonMark: the block runs to the end
}

TEST(MarkdownPlan, ErrorsNameTheLineAndWhatWasExpected) {
  EXPECT_EQ(error_of("# Nothing\n"),
            "plan.md line 1: expected '## Task N: Title' headings, found none");
  EXPECT_EQ(
      error_of("## Task 1: A\n\n## Task 1: B\n"),
      "plan.md line 3: task 1 is defined twice (line 1 and line 3); expected unique task ids");
  EXPECT_EQ(error_of("## Task 1: A\n## Groups\n**Group 1:** 1, 7\n"),
            "plan.md line 3: group 1 lists task '7', but no '## Task 7:' heading defines it");
  EXPECT_EQ(error_of("## Task 1: A\n## Task 2: B\n**Group 1:** 1\n**Group 2:** 1, 2\n"),
            "plan.md line 4: task 1 is in group 1 (line 3) and in group 2; expected each task in "
            "one group");
  EXPECT_EQ(error_of("## Task 1: A\n## Task 2: B\n## Groups\n**Group 1:** 2-1\n"),
            "plan.md line 4: group 1 lists the range 2-1; expected its first task before its last");
  EXPECT_EQ(error_of("## Task 1: A\n## Parallel Groups\n| Group | Tasks |\n|-|-|\n| x | 1 |\n"),
            "plan.md line 5: expected a group ('Group 1', 'Group A' or '1') in the group column, "
            "found 'x'");
}

TEST(MarkdownPlan, DetectionSeesTaskHeadings) {
  EXPECT_TRUE(is_markdown_task_heading("## Task 1: A"));
  EXPECT_TRUE(is_markdown_task_heading("### **Task 2:** B"));
  EXPECT_FALSE(is_markdown_task_heading("## Task Groups"));
  EXPECT_FALSE(is_markdown_task_heading("Task 1: A"));
}

TEST(MarkdownPlan, ADependsOnLineReplacesTheImplicitDependencies) {
  const ParsedPlan plan = parse(
      "## Task 1: A\n**Depends on:** none\n\nDo A.\n## Task 2: B\n## Task 3: C\n"
      "**Depends on:** Task 1, 2\n```\n**Depends on:** Task 9\n```\n");
  EXPECT_TRUE(task(plan, "1").dependencies.empty());
  EXPECT_EQ(task(plan, "1").instructions, "Do A.");
  EXPECT_EQ(task(plan, "2").dependencies, Ids{"1"});  // document order, as without the line
  EXPECT_EQ(task(plan, "3").dependencies, (Ids{"1", "2"}));
  EXPECT_EQ(task(plan, "3").instructions, "```\n**Depends on:** Task 9\n```");
}

TEST(MarkdownPlan, DependsOnLinesNamingUnknownTasksOrTwiceAreRefused) {
  EXPECT_EQ(error_of("## Task 1: A\n## Task 2: B\n**Depends on:** Task 7\n"),
            "plan.md line 3: task 2's '**Depends on:**' line lists task '7', but no '## Task 7:' "
            "heading defines it");
  EXPECT_EQ(error_of("## Task 1: A\n**Depends on:** none\n**Depends on:** none\n"),
            "plan.md line 3: task 1 has a second '**Depends on:**' line (line 2 and line 3); "
            "expected one");
}

}  // namespace
}  // namespace harness
