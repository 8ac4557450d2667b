#include "core/workflow.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/error.h"

namespace harness {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

struct Spec {
  std::string id;
  std::vector<std::string> deps;
  TaskStatus status = TaskStatus::kPending;
};

Workflow make(const std::vector<Spec>& specs) {
  Workflow w;
  for (const Spec& s : specs) {
    Task t;
    t.id = s.id;
    t.dependencies = s.deps;
    t.status = s.status;
    w.tasks.push_back(std::move(t));
  }
  return w;
}

std::string validation_error(const Workflow& w) {
  try {
    validate_workflow(w);
    ADD_FAILURE() << "workflow validated";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kInvalidArgument) << e.what();
    return e.what();
  }
  return {};
}

// t0 <- t1 <- ... <- t(n-1): each task depends on the one before it (or after it, reversed,
// which makes the depth-first search go n deep from the very first root).
Workflow chain(int n, bool reversed = false) {
  Workflow w;
  w.tasks.resize(n);
  for (int i = 0; i < n; ++i) {
    w.tasks[i].id = "t" + std::to_string(i);
    if (!reversed && i > 0) w.tasks[i].dependencies = {"t" + std::to_string(i - 1)};
    if (reversed && i + 1 < n) w.tasks[i].dependencies = {"t" + std::to_string(i + 1)};
  }
  return w;
}

TEST(WorkflowValidate, AcceptsEmpty) { EXPECT_NO_THROW(validate_workflow(Workflow{})); }

TEST(WorkflowValidate, AcceptsDag) {
  // A diamond plus an independent task, listed with dependents before dependencies.
  EXPECT_NO_THROW(validate_workflow(make({{"d", {"b", "c"}},
                                          {"b", {"a"}},
                                          {"c", {"a"}},
                                          {"a", {}},
                                          {"solo", {}},
                                          {"e", {"d", "a", "solo"}}})));
}

TEST(WorkflowValidate, AcceptsDuplicateDependencyEntries) {
  EXPECT_NO_THROW(validate_workflow(make({{"a", {}}, {"b", {"a", "a"}}})));
}

TEST(WorkflowValidate, DuplicateId) {
  EXPECT_EQ(validation_error(make({{"a", {}}, {"b", {}}, {"a", {}}})), "Duplicate task id: a");
}

TEST(WorkflowValidate, MissingDependency) {
  EXPECT_EQ(validation_error(make({{"a", {"ghost"}}})),
            "Missing dependency: ghost (required by a)");
  EXPECT_EQ(validation_error(make({{"x", {}}, {"a", {"x", "ghost"}}})),
            "Missing dependency: ghost (required by a)");
}

TEST(WorkflowValidate, SelfDependency) {
  std::string m = validation_error(make({{"a", {"a"}}}));
  EXPECT_THAT(m, StartsWith("Cycle detected at a"));
  EXPECT_EQ(m, "Cycle detected at a: a -> a");
}

TEST(WorkflowValidate, SelfDependencyAmongOthers) {
  EXPECT_THAT(validation_error(make({{"x", {}}, {"b", {"x", "b"}}, {"c", {"b"}}})),
              StartsWith("Cycle detected at b"));
}

TEST(WorkflowValidate, TwoCycle) {
  std::string m = validation_error(make({{"a", {"b"}}, {"b", {"a"}}}));
  EXPECT_THAT(m, StartsWith("Cycle detected at "));
  EXPECT_THAT(m, HasSubstr("a -> b"));
  EXPECT_EQ(m, "Cycle detected at a: a -> b -> a");
}

TEST(WorkflowValidate, LongerCycle) {
  std::string m = validation_error(make({{"root", {}},
                                         {"task-1", {"root", "task-3"}},
                                         {"task-2", {"task-1"}},
                                         {"task-3", {"task-2"}},
                                         {"leaf", {"task-3"}}}));
  EXPECT_THAT(m, StartsWith("Cycle detected at "));
  for (const char* id : {"task-1", "task-2", "task-3"}) EXPECT_THAT(m, HasSubstr(id));
  EXPECT_THAT(m, Not(HasSubstr("root")));
  EXPECT_THAT(m, Not(HasSubstr("leaf")));
}

TEST(WorkflowValidate, CycleReachedFromAnAcyclicPrefix) {
  // "entry" is acyclic itself but leads into b <-> c; the message names the cycle only.
  std::string m = validation_error(make({{"entry", {"b"}}, {"b", {"c"}}, {"c", {"b"}}}));
  EXPECT_EQ(m, "Cycle detected at b: b -> c -> b");
}

// Issue 13 item 17: a 200,000-task cycle was reported as one 2 MB line.
TEST(WorkflowValidate, LongCycleNamesItsFirstTasksAndItsLength) {
  constexpr int kTasks = 200000;
  std::vector<Spec> specs;
  for (int i = 0; i < kTasks; ++i)
    specs.push_back({"t" + std::to_string(i), {"t" + std::to_string((i + 1) % kTasks)}});
  std::string m = validation_error(make(specs));
  EXPECT_EQ(m,
            "Cycle detected at t0: t0 -> t1 -> t2 -> t3 -> t4 -> t5 -> t6 -> t7 -> ... (a cycle of "
            "200000 tasks)");
}

TEST(WorkflowValidate, MissingDependencyReportedBeforeCycle) {
  EXPECT_THAT(validation_error(make({{"a", {"b"}}, {"b", {"a", "ghost"}}})),
              StartsWith("Missing dependency: ghost"));
}

TEST(WorkflowValidate, HundredThousandChain) {
  EXPECT_NO_THROW(validate_workflow(chain(100'000)));
  EXPECT_NO_THROW(validate_workflow(chain(100'000, /*reversed=*/true)));
}

TEST(WorkflowValidate, HundredThousandFanOut) {
  Workflow w;
  w.tasks.resize(100'001);
  w.tasks[0].id = "root";
  for (int i = 1; i <= 100'000; ++i) {
    w.tasks[i].id = "c" + std::to_string(i);
    w.tasks[i].dependencies = {"root"};
  }
  EXPECT_NO_THROW(validate_workflow(w));

  // And the fan-in: one task depending on all 100,000.
  Task sink;
  sink.id = "sink";
  for (int i = 1; i <= 100'000; ++i) sink.dependencies.push_back("c" + std::to_string(i));
  w.tasks.insert(w.tasks.begin(), sink);
  EXPECT_NO_THROW(validate_workflow(w));
}

TEST(WorkflowValidate, CycleAtTheEndOfALongChain) {
  constexpr int kN = 100'000;
  Workflow w = chain(kN, /*reversed=*/true);                      // t0 -> t1 -> ... -> t(n-1)
  w.tasks[kN - 1].dependencies = {"t" + std::to_string(kN - 2)};  // t(n-1) -> t(n-2)
  std::string m = validation_error(w);
  EXPECT_THAT(m, StartsWith("Cycle detected at t" + std::to_string(kN - 2)));
  EXPECT_THAT(m, HasSubstr("t99998 -> t99999 -> t99998"));

  Workflow forward = chain(kN);
  forward.tasks[0].dependencies = {"t" + std::to_string(kN - 1)};  // closes one 100k cycle
  EXPECT_THAT(validation_error(forward), StartsWith("Cycle detected at "));
}

TEST(WorkflowValidate, CycleInSecondComponent) {
  Workflow w = chain(1000);
  Workflow tail = make({{"x", {"y"}}, {"y", {"z"}}, {"z", {"x"}}});
  w.tasks.insert(w.tasks.end(), tail.tasks.begin(), tail.tasks.end());
  EXPECT_EQ(validation_error(w), "Cycle detected at x: x -> y -> z -> x");
}

TEST(WorkflowValidate, RunningTaskWithoutOwner) {
  Workflow w = make({{"a", {}, TaskStatus::kRunning}});
  EXPECT_EQ(validation_error(w), "Task a is running but has no owner (claimed_by)");
  w.tasks[0].claimed_by = "w1";
  EXPECT_NO_THROW(validate_workflow(w));
}

TEST(WorkflowUnmet, CountsDistinctUncompletedDependencies) {
  Workflow w = make({{"a", {}, TaskStatus::kCompleted},
                     {"b", {}, TaskStatus::kRunning},
                     {"c", {}, TaskStatus::kFailed},
                     {"d", {"a"}},
                     {"e", {"b", "b", "b"}},
                     {"f", {"a", "b", "c", "a", "c"}},
                     {"g", {}},
                     {"h", {"a", "a"}},
                     {"i", {"g", "d"}}});
  EXPECT_EQ(unmet_dependency_counts(w), (std::vector<std::int64_t>{0, 0, 0, 0, 1, 2, 0, 0, 2}));
}

TEST(WorkflowUnmet, DependenciesListedLater) {
  Workflow w =
      make({{"late", {"early", "done"}}, {"early", {}}, {"done", {}, TaskStatus::kCompleted}});
  EXPECT_EQ(unmet_dependency_counts(w), (std::vector<std::int64_t>{1, 0, 0}));
}

TEST(WorkflowUnmet, Empty) { EXPECT_TRUE(unmet_dependency_counts(Workflow{}).empty()); }

TEST(WorkflowCounts, CountsEachStatus) {
  Workflow w = make({{"a", {}, TaskStatus::kCompleted},
                     {"b", {}, TaskStatus::kRunning},
                     {"c", {}, TaskStatus::kFailed},
                     {"d", {}, TaskStatus::kPending},
                     {"e", {}, TaskStatus::kPending},
                     {"f", {}, TaskStatus::kCompleted},
                     {"g", {}, TaskStatus::kCompleted}});
  StatusCounts c = count_statuses(w);
  EXPECT_EQ(c.pending, 2);
  EXPECT_EQ(c.running, 1);
  EXPECT_EQ(c.completed, 3);
  EXPECT_EQ(c.failed, 1);
  EXPECT_EQ(c.total(), 7);
  EXPECT_TRUE(c.unfinished());
}

TEST(WorkflowCounts, Unfinished) {
  EXPECT_FALSE(count_statuses(Workflow{}).unfinished());
  EXPECT_EQ(count_statuses(Workflow{}).total(), 0);
  EXPECT_FALSE(
      count_statuses(make({{"a", {}, TaskStatus::kCompleted}, {"b", {}, TaskStatus::kFailed}}))
          .unfinished());
  EXPECT_TRUE(
      count_statuses(make({{"a", {}, TaskStatus::kCompleted}, {"b", {}, TaskStatus::kRunning}}))
          .unfinished());
  EXPECT_TRUE(count_statuses(make({{"a", {}, TaskStatus::kPending}})).unfinished());
}

}  // namespace
}  // namespace harness
