#include "view/dag_view.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace harness {
namespace {

using ::testing::ElementsAre;

constexpr Micros kNow = 1'800'000'000LL * kMicrosPerSecond;

Workflow chain_and_fan(std::size_t fan) {
  Workflow w;
  const auto add = [&](std::string id, std::vector<std::string> deps,
                       TaskStatus s = TaskStatus::kPending) {
    Task t;
    t.id = std::move(id);
    t.dependencies = std::move(deps);
    t.status = s;
    if (s == TaskStatus::kRunning) t.claimed_by = "w1";
    w.tasks.push_back(std::move(t));
  };
  add("c", {"b"});  // listed before what it depends on
  add("a", {}, TaskStatus::kCompleted);
  add("b", {"a"}, TaskStatus::kRunning);
  for (std::size_t i = 0; i < fan; ++i) add("f" + std::to_string(i), {"a"});
  return w;
}

TEST(DagViewTest, DepthIsTheLongestPathFromARoot) {
  EXPECT_THAT(dependency_depths(chain_and_fan(2)), ElementsAre(2, 0, 1, 1, 1));
}

TEST(DagViewTest, ASmallPlanDrawsEveryTaskByDepthWithItsEdges) {
  const Workflow w = chain_and_fan(1);
  const Json dag = dag_to_json(w, task_states(w, kNow));
  EXPECT_FALSE(dag["aggregated"].get<bool>());
  ASSERT_EQ(dag["nodes"].size(), 4u);
  EXPECT_EQ(dag["nodes"][0]["id"], "a");
  EXPECT_EQ(dag["nodes"][1]["id"], "b");
  EXPECT_EQ(dag["nodes"][1]["state"], "running");
  EXPECT_EQ(dag["nodes"][1]["worker_id"], "w1");
  EXPECT_EQ(dag["nodes"][3]["id"], "c");
  EXPECT_EQ(dag["nodes"][3]["dependencies"], Json::array({"b"}));
  ASSERT_EQ(dag["columns"].size(), 3u);
  EXPECT_EQ(dag["columns"][1]["total"], 2);
  EXPECT_EQ(dag["columns"][1]["counts"]["running"], 1);
  EXPECT_EQ(dag["columns"][1]["counts"]["ready"], 1);
}

TEST(DagViewTest, ALargePlanDrawsABoundedSelectionRunningFirstAndCountsTheRest) {
  const Workflow w = chain_and_fan(1000);
  DagOptions options;
  options.node_limit = 40;
  const Json dag = dag_to_json(w, task_states(w, kNow), options);
  EXPECT_TRUE(dag["aggregated"].get<bool>());
  EXPECT_EQ(dag["nodes"].size(), 40u);
  bool running_drawn = false;
  for (const Json& n : dag["nodes"]) running_drawn |= n["id"] == "b";
  EXPECT_TRUE(running_drawn);
  EXPECT_EQ(dag["columns"][1]["total"], 1001);
}

}  // namespace
}  // namespace harness
