#include "view/dag_view.h"

#include <algorithm>
#include <array>
#include <numeric>
#include <string_view>
#include <unordered_map>

namespace harness {
namespace {

constexpr std::array kStates{TaskState::kCompleted, TaskState::kRunning, TaskState::kReady,
                             TaskState::kWaiting,   TaskState::kBackoff, TaskState::kBlocked,
                             TaskState::kFailed};

std::unordered_map<std::string_view, std::size_t> index_by_id(const Workflow& workflow) {
  std::unordered_map<std::string_view, std::size_t> index;
  index.reserve(workflow.tasks.size());
  for (std::size_t i = 0; i < workflow.tasks.size(); ++i) index.emplace(workflow.tasks[i].id, i);
  return index;
}

// Which tasks are drawn (DagOptions::node_limit), as a flag per task.
std::vector<bool> choose_drawn(const std::vector<TaskState>& states, std::size_t limit) {
  std::vector<bool> drawn(states.size(), states.size() <= limit);
  if (states.size() <= limit) return drawn;
  std::size_t taken = 0;
  const auto take = [&](TaskState state, std::size_t cap) {
    std::size_t of_state = 0;
    for (std::size_t i = 0; i < states.size() && taken < limit && of_state < cap; ++i) {
      if (drawn[i] || states[i] != state) continue;
      drawn[i] = true;
      ++taken;
      ++of_state;
    }
  };
  take(TaskState::kRunning, limit);
  for (TaskState s : {TaskState::kFailed, TaskState::kBlocked, TaskState::kReady})
    take(s, limit / 4);
  for (TaskState s : {TaskState::kBackoff, TaskState::kWaiting, TaskState::kCompleted})
    take(s, limit);
  for (std::size_t i = 0; i < states.size() && taken < limit; ++i) {  // what the caps left
    if (drawn[i]) continue;
    drawn[i] = true;
    ++taken;
  }
  return drawn;
}

Json columns_json(const std::vector<std::size_t>& depths, const std::vector<TaskState>& states) {
  const std::size_t columns =
      depths.empty() ? 0 : *std::max_element(depths.begin(), depths.end()) + 1;
  std::vector<StateCounts> counts(columns);
  for (std::size_t i = 0; i < depths.size(); ++i) counts[depths[i]].add(states[i]);
  Json list = Json::array();
  for (std::size_t d = 0; d < columns; ++d) {
    Json by_state = Json::object();
    for (TaskState s : kStates) by_state[std::string(to_string(s))] = counts[d].of(s);
    list.push_back(Json{{"depth", d}, {"total", counts[d].total()}, {"counts", by_state}});
  }
  return list;
}

Json node_json(const Task& task, TaskState state, std::size_t depth, const std::vector<bool>& drawn,
               const std::unordered_map<std::string_view, std::size_t>& index) {
  Json deps = Json::array();
  for (const std::string& dep : task.dependencies)
    if (auto it = index.find(dep); it != index.end() && drawn[it->second]) deps.push_back(dep);
  Json node{{"id", task.id},
            {"description", task.description},
            {"state", to_string(state)},
            {"depth", depth},
            {"dependencies", std::move(deps)}};
  if (state == TaskState::kRunning) {
    node["worker_id"] = task.claimed_by.value_or("");
    node["attempt"] = task.attempts + 1;
    node["lease_expires_at"] =
        task.lease_expires_at ? Json(format_iso8601(*task.lease_expires_at)) : Json(nullptr);
  }
  return node;
}

}  // namespace

std::vector<std::size_t> dependency_depths(const Workflow& workflow) {
  const std::size_t n = workflow.tasks.size();
  const auto index = index_by_id(workflow);
  std::vector<std::vector<std::size_t>> dependents(n);
  std::vector<std::size_t> unmet(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    for (const std::string& dep : workflow.tasks[i].dependencies) {
      if (auto it = index.find(dep); it != index.end()) {
        dependents[it->second].push_back(i);
        ++unmet[i];
      }
    }
  }
  std::vector<std::size_t> depth(n, 0);
  std::vector<std::size_t> ready;
  for (std::size_t i = 0; i < n; ++i)
    if (unmet[i] == 0) ready.push_back(i);
  while (!ready.empty()) {
    const std::size_t i = ready.back();
    ready.pop_back();
    for (std::size_t d : dependents[i]) {
      depth[d] = std::max(depth[d], depth[i] + 1);
      if (--unmet[d] == 0) ready.push_back(d);
    }
  }
  return depth;
}

Json dag_to_json(const Workflow& workflow, const std::vector<TaskState>& states,
                 const DagOptions& options) {
  const std::vector<std::size_t> depths = dependency_depths(workflow);
  const std::vector<bool> drawn = choose_drawn(states, options.node_limit);
  const auto index = index_by_id(workflow);
  std::vector<std::size_t> order(workflow.tasks.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return depths[a] < depths[b]; });
  Json nodes = Json::array();
  for (std::size_t i : order)
    if (drawn[i]) nodes.push_back(node_json(workflow.tasks[i], states[i], depths[i], drawn, index));
  return Json{{"columns", columns_json(depths, states)},
              {"aggregated", workflow.tasks.size() > options.node_limit},
              {"node_limit", options.node_limit},
              {"nodes", std::move(nodes)}};
}

}  // namespace harness
