#include "plan/taskmaster.h"

#include <gtest/gtest.h>

#include "plan/plan_queries_test.h"

namespace harness {
namespace {

using namespace plan_test;  // NOLINT: the importers' test queries

ParsedPlan parse(const std::string& text, std::string_view tag = kDefaultTaskmasterTag) {
  return parse_taskmaster_plan(text, "tasks.json", tag);
}

std::string error_of(const std::string& text, std::string_view tag = kDefaultTaskmasterTag) {
  return refusal_of([&] { parse(text, tag); });
}

constexpr const char* kTagged = R"({
  "master": {"tasks": [
    {"id": 1, "title": "Setup", "description": "Set it up.", "details": "Use cmake.",
     "testStrategy": "It builds.", "status": "done", "priority": "high", "dependencies": []},
    {"id": "2", "title": "Core", "status": "pending", "priority": "low", "dependencies": [1],
     "subtasks": [
       {"id": 1, "title": "Parser", "status": "done", "dependencies": []},
       {"id": 2, "title": "Writer", "dependencies": [1]},
       {"id": 3, "title": "Docs", "dependencies": ["2.2", "1"]}
     ]},
    {"id": 3, "title": "Ship", "dependencies": ["2.1", 2]}
  ], "metadata": {"description": "The goal"}},
  "feature": {"tasks": [{"id": 7, "title": "Other"}]}
})";

TEST(TaskmasterPlan, TaggedTasksSubtasksAndFields) {
  const ParsedPlan plan = parse(kTagged);
  EXPECT_EQ(ids(plan), (Ids{"1", "2", "2.1", "2.2", "2.3", "3"}));
  EXPECT_EQ(plan.goal, "The goal");
  const Task& setup = task(plan, "1");
  EXPECT_EQ(setup.description, "Setup");
  EXPECT_EQ(setup.instructions, "Set it up.\n\nUse cmake.");
  EXPECT_EQ(setup.packet->success_criteria, "It builds.");
  EXPECT_EQ(setup.status, TaskStatus::kCompleted);
  EXPECT_EQ(setup.priority, 1);
  EXPECT_EQ(task(plan, "2").priority, -1);
  EXPECT_EQ(task(plan, "2.1").status, TaskStatus::kCompleted);
}

TEST(TaskmasterPlan, DependenciesOfTasksAndSubtasks) {
  const ParsedPlan plan = parse(kTagged);
  // The parent waits for its own dependencies and then for its subtasks.
  EXPECT_EQ(task(plan, "2").dependencies, (Ids{"1", "2.1", "2.2", "2.3"}));
  // A subtask naming no sibling waits for what its parent waits for.
  EXPECT_EQ(task(plan, "2.1").dependencies, Ids{"1"});
  // A sibling as an integer; a qualified id; "1" is a sibling when there is one (2.1).
  EXPECT_EQ(task(plan, "2.2").dependencies, Ids{"2.1"});
  EXPECT_EQ(task(plan, "2.3").dependencies, (Ids{"2.2", "2.1"}));
  EXPECT_EQ(task(plan, "3").dependencies, (Ids{"2.1", "2"}));
}

TEST(TaskmasterPlan, ATagIsChosenAndAMissingOneListsTheTags) {
  EXPECT_EQ(ids(parse(kTagged, "feature")), Ids{"7"});
  EXPECT_EQ(error_of(kTagged, "nope"),
            "tasks.json expected the tag 'nope' (choose one with --tag), found the tags master, "
            "feature");
}

TEST(TaskmasterPlan, LegacyTasksListAndSubtaskOnATopLevelTask) {
  const ParsedPlan plan = parse(R"({"tasks": [
    {"id": 1, "title": "A"},
    {"id": 2, "title": "B", "subtasks": [{"id": 1, "title": "B1", "dependencies": [2, 9]}]},
    {"id": 9, "title": "C", "priority": "medium", "subtasks": [{"id": "9.1"}]}]})");
  EXPECT_EQ(ids(plan), (Ids{"1", "2", "2.1", "9", "9.1"}));
  // 2 is the parent itself (dropped); 9 is no sibling, so the top-level task 9.
  EXPECT_EQ(task(plan, "2.1").dependencies, Ids{"9"});
  EXPECT_EQ(task(plan, "9").priority, 0);
}

TEST(TaskmasterPlan, ErrorsNameTheJsonPath) {
  EXPECT_EQ(error_of(R"({"tasks": [{"id": 1}, {"id": true}]})"),
            "tasks.json tasks[1].id: expected a task id (a string or an integer), found true");
  EXPECT_EQ(error_of(R"({"master": {"tasks": [{"id": 1, "dependencies": [4]}]}})"),
            "tasks.json master.tasks[0].dependencies[0]: task 1 depends on '4', which no task "
            "has as its id");
  EXPECT_EQ(error_of(R"({"tasks": [{"id": 1, "subtasks": [{"id": 1}, {"id": "1"}]}]})"),
            "tasks.json tasks[0].subtasks[1].id: task 1.1 is defined twice (tasks[0].subtasks[0] "
            "and tasks[0].subtasks[1]); expected unique task ids");
  EXPECT_EQ(error_of(R"({"tasks": [{"id": 1, "priority": "urgent"}]})"),
            "tasks.json tasks[0].priority: expected a priority of \"critical\", \"high\", "
            "\"medium\" or \"low\", found \"urgent\"");
  EXPECT_EQ(error_of(R"({"tasks": [{"id": 1, "title": 5}]})"),
            "tasks.json tasks[0].title: expected a string, found 5");
  EXPECT_EQ(error_of(R"({"tasks": []})"),
            "tasks.json tasks: expected at least one task, found none");
  EXPECT_EQ(error_of("{\n  \"tasks\": [\n    {\"id\": 1,}\n  ]\n}"),
            "tasks.json line 3: invalid JSON at column 14: syntax error while parsing object key "
            "- unexpected '}'; expected string literal");
}

TEST(TaskmasterPlan, DetectionSeesTagsAndTaskmasterTasks) {
  EXPECT_TRUE(looks_like_taskmaster(parse_json(kTagged)));
  EXPECT_TRUE(looks_like_taskmaster(parse_json(R"({"tasks": [{"id": 1}]})")));
  EXPECT_TRUE(looks_like_taskmaster(parse_json(R"({"tasks": [{"id": "a", "title": "A"}]})")));
  EXPECT_FALSE(
      looks_like_taskmaster(parse_json(R"({"tasks": [{"id": "a", "description": "A"}]})")));
  EXPECT_FALSE(looks_like_taskmaster(parse_json(R"({"tasks": {"a": {}}})")));
  EXPECT_FALSE(looks_like_taskmaster(parse_json(R"([{"id": "a"}])")));
}

}  // namespace
}  // namespace harness
