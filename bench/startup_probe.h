// Daemon start on an existing large workflow: from spawning `harness daemon` until its first
// task_claim is answered — opening the store, binding the socket and the first claim.
#pragma once

#include <filesystem>
#include <vector>

#include "core/json.h"
#include "plan_shape.h"

namespace harness::bench {

struct StartupProbeResult {
  double import_ms = 0;         // setting up the workflow (not part of the figure)
  std::vector<double> runs_ms;  // spawn → first claim answered with a task, per start
};

// Starts a daemon of its own, imports the plan of `spec`, stops it; then `runs` times starts
// it again and connects + claims in a loop (100 µs apart) until a claim is answered, and stops
// it. Throws Error when a start fails or the claim finds no task.
StartupProbeResult run_startup_probe(const std::filesystem::path& harness_binary,
                                     const PlanSpec& spec, int runs);

Json to_json(const StartupProbeResult& result);

}  // namespace harness::bench
