#include "cpu_probe.h"

#include <cstdint>
#include <vector>

namespace harness::bench {

namespace {

// Eight independent multiply-add chains: enough to keep a core's multipliers busy, so a unit
// slows down when another thread (a hyperthread sibling, a neighbour's vCPU) shares the core,
// and never waits for memory.
std::uint64_t work_unit(std::uint64_t seed) {
  std::uint64_t x[8];
  for (int k = 0; k < 8; ++k) x[k] = seed + static_cast<std::uint64_t>(k);
  for (long i = 0; i < kCpuProbeUnitSteps / 8; ++i)
    for (std::uint64_t& v : x) v = v * 6364136223846793005ULL + 1442695040888963407ULL;
  std::uint64_t sum = 0;
  for (std::uint64_t v : x) sum ^= v;
  return sum;
}

std::vector<Nanos> time_units(std::chrono::steady_clock::time_point deadline) {
  std::vector<Nanos> samples;
  std::uint64_t x = 1;
  while (std::chrono::steady_clock::now() < deadline) {
    const auto start = std::chrono::steady_clock::now();
    x = work_unit(x);
    samples.push_back(nanos_since(start));
  }
  volatile std::uint64_t sink = x;  // keeps the work
  (void)sink;
  return samples;
}

}  // namespace

CpuProbeResult run_cpu_probe(std::chrono::milliseconds duration, int threads) {
  const auto deadline = std::chrono::steady_clock::now() + duration;
  ThreadedSamples run = sample_on_threads(threads, [&](int) { return time_units(deadline); });
  const double units = static_cast<double>(run.samples.size());
  return CpuProbeResult{summarize(std::move(run.samples)), units / threads / (run.seconds * 1e3)};
}

Json to_json(const CpuProbeResult& result) {
  return Json{{"unit_us", to_json(result.unit)},
              {"units_per_ms_per_thread", result.units_per_ms_per_thread}};
}

}  // namespace harness::bench
