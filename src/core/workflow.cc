#include "core/workflow.h"

#include <algorithm>
#include <unordered_map>

#include "core/error.h"

namespace harness {

namespace {

using IndexById = std::unordered_map<std::string_view, std::size_t>;

IndexById index_tasks(const Workflow& workflow) {
  IndexById index;
  index.reserve(workflow.tasks.size());
  for (std::size_t i = 0; i < workflow.tasks.size(); ++i) {
    if (!index.emplace(workflow.tasks[i].id, i).second)
      throw Error::invalid("Duplicate task id: " + workflow.tasks[i].id);
  }
  return index;
}

// Dependency edges as indices; throws on a missing dependency.
std::vector<std::vector<std::size_t>> resolve_edges(const Workflow& workflow,
                                                    const IndexById& index) {
  std::vector<std::vector<std::size_t>> edges(workflow.tasks.size());
  for (std::size_t i = 0; i < workflow.tasks.size(); ++i) {
    const Task& task = workflow.tasks[i];
    edges[i].reserve(task.dependencies.size());
    for (const std::string& dep : task.dependencies) {
      auto it = index.find(dep);
      if (it == index.end())
        throw Error::invalid("Missing dependency: " + dep + " (required by " + task.id + ")");
      edges[i].push_back(it->second);
    }
  }
  return edges;
}

// Names the whole cycle when it is short; a long one (a 200,000-task plan can be one cycle)
// gets its first few tasks and its length, so the message stays one readable line.
[[noreturn]] void report_cycle(const Workflow& workflow, const std::vector<std::size_t>& path,
                               std::size_t back_to) {
  constexpr std::ptrdiff_t kNamedTasks = 8;
  auto start = std::find(path.begin(), path.end(), back_to);
  const std::ptrdiff_t length = path.end() - start;
  std::string chain;
  for (auto it = start; it != path.end() && it - start < kNamedTasks; ++it)
    chain += workflow.tasks[*it].id + " -> ";
  if (length > kNamedTasks)
    chain += "... (a cycle of " + std::to_string(length) + " tasks)";
  else
    chain += workflow.tasks[back_to].id;
  throw Error::invalid("Cycle detected at " + workflow.tasks[back_to].id + ": " + chain);
}

// Iterative depth-first search with the usual three colours; a grey successor closes a cycle.
void check_acyclic(const Workflow& workflow, const std::vector<std::vector<std::size_t>>& edges) {
  enum Colour : unsigned char { kWhite, kGrey, kBlack };
  std::vector<Colour> colour(edges.size(), kWhite);
  std::vector<std::size_t> path;       // the grey nodes, root first
  std::vector<std::size_t> next_edge;  // per path entry: the next edge to follow
  for (std::size_t root = 0; root < edges.size(); ++root) {
    if (colour[root] != kWhite) continue;
    path.push_back(root), next_edge.push_back(0), colour[root] = kGrey;
    while (!path.empty()) {
      const std::size_t node = path.back();
      if (next_edge.back() == edges[node].size()) {
        colour[node] = kBlack;
        path.pop_back(), next_edge.pop_back();
        continue;
      }
      const std::size_t succ = edges[node][next_edge.back()++];
      if (colour[succ] == kGrey) report_cycle(workflow, path, succ);
      if (colour[succ] == kWhite)
        path.push_back(succ), next_edge.push_back(0), colour[succ] = kGrey;
    }
  }
}

// A running task belongs to a worker: one without an owner would be handed out as an expired
// lease at once, and nobody could complete it.
void check_owners(const Workflow& workflow) {
  for (const Task& task : workflow.tasks)
    if (task.status == TaskStatus::kRunning && (!task.claimed_by || task.claimed_by->empty()))
      throw Error::invalid("Task " + task.id + " is running but has no owner (claimed_by)");
}

}  // namespace

void validate_workflow(const Workflow& workflow) {
  const IndexById index = index_tasks(workflow);
  check_owners(workflow);
  check_acyclic(workflow, resolve_edges(workflow, index));
}

std::vector<std::int64_t> unmet_dependency_counts(const Workflow& workflow) {
  std::unordered_map<std::string_view, TaskStatus> status;
  status.reserve(workflow.tasks.size());
  for (const Task& task : workflow.tasks) status.emplace(task.id, task.status);

  std::vector<std::int64_t> counts;
  counts.reserve(workflow.tasks.size());
  std::vector<std::string_view> distinct;
  for (const Task& task : workflow.tasks) {
    distinct.assign(task.dependencies.begin(), task.dependencies.end());
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    counts.push_back(std::count_if(distinct.begin(), distinct.end(), [&](std::string_view dep) {
      return status.at(dep) != TaskStatus::kCompleted;
    }));
  }
  return counts;
}

void StatusCounts::add(TaskStatus status, std::int64_t n) {
  switch (status) {
    case TaskStatus::kPending:
      pending += n;
      break;
    case TaskStatus::kRunning:
      running += n;
      break;
    case TaskStatus::kCompleted:
      completed += n;
      break;
    case TaskStatus::kFailed:
      failed += n;
      break;
  }
}

StatusCounts count_statuses(const Workflow& workflow) {
  StatusCounts counts;
  const std::vector<std::int64_t> unmet = unmet_dependency_counts(workflow);
  for (std::size_t i = 0; i < workflow.tasks.size(); ++i) {
    counts.add(workflow.tasks[i].status);
    if (workflow.tasks[i].status == TaskStatus::kPending && unmet[i] == 0) ++counts.ready;
  }
  return counts;
}

namespace {

// The tasks in an order where each comes after its dependencies (Kahn's algorithm).
std::vector<std::size_t> dependency_order(
    const Workflow& workflow, const std::unordered_map<std::string_view, std::size_t>& index) {
  const std::size_t n = workflow.tasks.size();
  std::vector<std::size_t> waiting(n, 0);
  std::vector<std::vector<std::size_t>> dependents(n);
  for (std::size_t i = 0; i < n; ++i) {
    for (const std::string& dep : workflow.tasks[i].dependencies) {
      auto it = index.find(dep);
      if (it == index.end()) continue;
      dependents[it->second].push_back(i);
      ++waiting[i];
    }
  }
  std::vector<std::size_t> order;
  order.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    if (waiting[i] == 0) order.push_back(i);
  for (std::size_t next = 0; next < order.size(); ++next)
    for (const std::size_t d : dependents[order[next]])
      if (--waiting[d] == 0) order.push_back(d);
  return order;
}

bool unfinished(const Task& t) {
  return t.status == TaskStatus::kPending || t.status == TaskStatus::kRunning;
}

}  // namespace

BlockedBy::BlockedBy(const Workflow& workflow)
    : workflow_(workflow), blockers_(workflow.tasks.size()) {
  for (std::size_t i = 0; i < workflow.tasks.size(); ++i) index_.emplace(workflow.tasks[i].id, i);
  for (const std::size_t i : dependency_order(workflow, index_)) {
    const Task& task = workflow.tasks[i];
    if (!unfinished(task)) continue;
    std::vector<std::size_t>& mine = blockers_[i];
    for (const std::string& dep : task.dependencies) {
      auto it = index_.find(dep);
      if (it == index_.end()) continue;
      const Task& d = workflow.tasks[it->second];
      if (d.status == TaskStatus::kFailed)
        mine.push_back(it->second);
      else if (unfinished(d))
        mine.insert(mine.end(), blockers_[it->second].begin(), blockers_[it->second].end());
    }
    std::sort(mine.begin(), mine.end());
    mine.erase(std::unique(mine.begin(), mine.end()), mine.end());
  }
}

std::vector<std::string> BlockedBy::of(const Task& task) const {
  std::vector<std::string> ids;
  auto it = index_.find(task.id);
  if (it == index_.end() || task.status != TaskStatus::kPending) return ids;
  for (const std::size_t b : blockers_[it->second]) ids.push_back(workflow_.tasks[b].id);
  return ids;
}

}  // namespace harness
