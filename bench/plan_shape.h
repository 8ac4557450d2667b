// The plan shapes the benchmarks run: how N tasks depend on each other.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/task.h"

namespace harness::bench {

enum class Shape {
  kIndependent,  // no dependencies: every task is ready at once
  kChain,        // task i depends on task i-1: one ready task at a time
  kFanout,       // task 0 is the root, every other task depends on it
  kLayers,       // groups of `width`; see PlanSpec::dense
};

std::string_view to_string(Shape shape);
// Throws Error::invalid for anything but "independent", "chain", "fanout", "layers".
Shape parse_shape(std::string_view text);

struct PlanSpec {
  Shape shape = Shape::kIndependent;
  std::size_t tasks = 1000;
  std::size_t width = 100;  // layers only: tasks per layer
  // Layers only. Sparse (the default): task j of a layer depends on task j of the previous
  // layer, so a layer becomes ready piece by piece and the graph has N edges. Dense: each task
  // depends on every task of the previous layer — width² edges per layer, a barrier between
  // layers.
  bool dense = false;
};

// The id of the task at plan position `index`: "t<index>".
std::string task_id(std::size_t index);

// The plan in plan order, every task pending with a short description. Requires tasks ≥ 1
// and width ≥ 1.
Workflow make_workflow(const PlanSpec& spec);

// Writes `workflow` as a plan file {"tasks": {id: {"description", "dependencies"}}}, the
// compact form an author would write (all other fields default). Throws Error::io.
void write_plan_file(const Workflow& workflow, const std::filesystem::path& file);

}  // namespace harness::bench
