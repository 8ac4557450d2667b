#include "plan_shape.h"

#include <fstream>

#include "core/error.h"

namespace harness::bench {

namespace {

constexpr std::string_view kShapeNames[] = {"independent", "chain", "fanout", "layers"};

std::vector<std::string> dependencies_of(const PlanSpec& spec, std::size_t i) {
  switch (spec.shape) {
    case Shape::kIndependent:
      return {};
    case Shape::kChain:
      return i == 0 ? std::vector<std::string>{} : std::vector<std::string>{task_id(i - 1)};
    case Shape::kFanout:
      return i == 0 ? std::vector<std::string>{} : std::vector<std::string>{task_id(0)};
    case Shape::kLayers:
      break;
  }
  const std::size_t layer = i / spec.width;
  if (layer == 0) return {};
  const std::size_t previous = (layer - 1) * spec.width;
  if (!spec.dense) return {task_id(previous + i % spec.width)};
  std::vector<std::string> deps;
  deps.reserve(spec.width);
  for (std::size_t j = previous; j < previous + spec.width; ++j) deps.push_back(task_id(j));
  return deps;
}

}  // namespace

std::string_view to_string(Shape shape) { return kShapeNames[static_cast<int>(shape)]; }

Shape parse_shape(std::string_view text) {
  for (std::size_t i = 0; i < std::size(kShapeNames); ++i)
    if (kShapeNames[i] == text) return static_cast<Shape>(i);
  throw Error::invalid("unknown shape '" + std::string(text) +
                       "' (independent, chain, fanout or layers)");
}

std::string task_id(std::size_t index) { return "t" + std::to_string(index); }

Workflow make_workflow(const PlanSpec& spec) {
  if (spec.tasks == 0 || spec.width == 0) throw Error::invalid("tasks and width must be ≥ 1");
  Workflow workflow;
  workflow.tasks.reserve(spec.tasks);
  for (std::size_t i = 0; i < spec.tasks; ++i) {
    Task task;
    task.id = task_id(i);
    task.description = "benchmark task " + std::to_string(i);
    task.dependencies = dependencies_of(spec, i);
    workflow.tasks.push_back(std::move(task));
  }
  return workflow;
}

void write_plan_file(const Workflow& workflow, const std::filesystem::path& file) {
  Json tasks = Json::object();
  for (const Task& task : workflow.tasks)
    append_member(tasks, task.id,
                  Json{{"description", task.description}, {"dependencies", task.dependencies}});
  Json plan = Json::object();
  append_member(plan, "tasks", std::move(tasks));
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << plan.dump() << '\n';
  out.close();
  if (!out) throw Error::io("cannot write plan file " + file.string());
}

}  // namespace harness::bench
