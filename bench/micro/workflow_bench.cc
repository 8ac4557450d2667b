// DAG validation and readiness on 100,000 tasks: what every plan write pays before it touches
// the store (validate_workflow) and what an import computes for the unmet-dependency column.
#include <benchmark/benchmark.h>

#include "core/workflow.h"
#include "plan_shape.h"

namespace harness::bench {
namespace {

constexpr std::size_t kTasks = 100'000;

const Workflow& plan(Shape shape) {
  static const Workflow independent = make_workflow({Shape::kIndependent, kTasks});
  static const Workflow chain = make_workflow({Shape::kChain, kTasks});
  static const Workflow layers = make_workflow({Shape::kLayers, kTasks, 100});
  switch (shape) {
    case Shape::kChain:
      return chain;
    case Shape::kLayers:
      return layers;
    default:
      return independent;
  }
}

void BM_ValidateWorkflow(benchmark::State& state, Shape shape) {
  const Workflow& workflow = plan(shape);
  for (auto _ : state) validate_workflow(workflow);
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kTasks));
}

void BM_UnmetDependencyCounts(benchmark::State& state, Shape shape) {
  const Workflow& workflow = plan(shape);
  for (auto _ : state) benchmark::DoNotOptimize(unmet_dependency_counts(workflow));
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kTasks));
}

BENCHMARK_CAPTURE(BM_ValidateWorkflow, independent_100k, Shape::kIndependent)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ValidateWorkflow, chain_100k, Shape::kChain)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ValidateWorkflow, layers_100k, Shape::kLayers)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_UnmetDependencyCounts, independent_100k, Shape::kIndependent)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_UnmetDependencyCounts, chain_100k, Shape::kChain)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_UnmetDependencyCounts, layers_100k, Shape::kLayers)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace harness::bench
