#include "plan/plan_export.h"

#include <gtest/gtest.h>

#include "plan/plan_queries_test.h"

namespace harness {
namespace {

using namespace plan_test;  // NOLINT: the importers' test queries

Workflow sample() {
  Workflow w;
  w.goal = "Ship";
  Task a;
  a.id = "1";
  a.description = "First\nline";
  a.instructions = "Do it.\n\n### Details\n- more";
  a.status = TaskStatus::kCompleted;
  Task b;
  b.id = "2a";
  b.description = "Second";
  Task c;
  c.id = "1.10";
  c.description = "Third";
  c.dependencies = {"2a", "1"};
  c.packet->tools = std::vector<std::string>{"bash"};
  w.tasks = {a, b, c};
  return w;
}

TEST(PlanExport, JsonReadsBackToTheSameWorkflow) {
  const Workflow w = sample();
  EXPECT_EQ(parse_plan(export_plan(w, PlanFormat::kJson), {}, "p").workflow, w);
}

TEST(PlanExport, MarkdownReadsBackToTheSameTasksAndEdges) {
  const Workflow w = sample();
  const std::string text = export_plan(w, PlanFormat::kMarkdown);
  EXPECT_NE(text.find("## Task 1.10: Third\n\n**Depends on:** Task 2a, Task 1\n"),
            std::string::npos)
      << text;
  const ParsedPlan back = parse_plan(text, {}, "p");
  EXPECT_EQ(back.goal, "Ship");
  EXPECT_EQ(ids(back), (Ids{"1", "2a", "1.10"}));
  EXPECT_TRUE(task(back, "2a").dependencies.empty());
  EXPECT_EQ(task(back, "1.10").dependencies, (Ids{"2a", "1"}));
  EXPECT_EQ(task(back, "1").description, "First line");
  EXPECT_EQ(task(back, "1").instructions, "Do it.\n\n### Details\n- more");
}

TEST(PlanExport, MarkdownRefusesWhatItCannotWriteBack) {
  Workflow w = sample();
  w.tasks[1].id = "setup";
  w.tasks[2].dependencies = {"setup"};
  EXPECT_EQ(refusal_of([&] { export_plan(w, PlanFormat::kMarkdown); }),
            "cannot export task 'setup' as markdown: a markdown task id holds a digit and only "
            "letters, digits, '.', '_' and '-'; export as json, which keeps every plan");
  w = sample();
  w.tasks[0].instructions = "## Task 9: smuggled";
  EXPECT_NE(refusal_of([&] { export_plan(w, PlanFormat::kMarkdown); }).find("cannot export task"),
            std::string::npos);
  EXPECT_EQ(refusal_of([&] { export_plan(w, PlanFormat::kXml); }),
            "cannot export a plan as xml (expected json or markdown)");
}

}  // namespace
}  // namespace harness
