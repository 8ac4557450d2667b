// How fast the machine's cores are right now. On a shared virtual machine a core's speed moves
// with the neighbours' load (a spin loop's rate can change from one moment to the next), so a
// run's figures are only comparable with another run's next to this one's.
#pragma once

#include <chrono>

#include "latency.h"

namespace harness::bench {

struct CpuProbeResult {
  LatencySummary unit;                 // time of one work unit (kCpuProbeUnitSteps multiply-adds)
  double units_per_ms_per_thread = 0;  // over the whole probe
};

inline constexpr long kCpuProbeUnitSteps = 1 << 16;

// Runs work units on `threads` threads at once for `duration`, timing each. With one thread
// per core, a unit that takes longer than with one thread alone shows the cores sharing a
// physical one (hyperthreads, or an overcommitted host).
CpuProbeResult run_cpu_probe(std::chrono::milliseconds duration, int threads = 1);

Json to_json(const CpuProbeResult& result);

}  // namespace harness::bench
