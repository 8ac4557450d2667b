// Latency samples and their summary: nearest-rank percentiles over every sample (no
// histogram buckets, so p99 and max are exact).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "core/json.h"

namespace harness::bench {

using Nanos = std::int64_t;

// Nanoseconds elapsed on the steady clock since `start`.
Nanos nanos_since(std::chrono::steady_clock::time_point start);

struct LatencySummary {
  std::size_t count = 0;
  double p50_us = 0, p90_us = 0, p99_us = 0, max_us = 0;
};

// Summarises `samples` (nanoseconds, any order); all zero when there are none.
LatencySummary summarize(std::vector<Nanos> samples);

// The middle value (the mean of the two middle ones for an even count); 0 when empty.
double median(std::vector<double> values);

struct ThreadedSamples {
  std::vector<Nanos> samples;  // every thread's
  double seconds = 0;          // from starting the first thread to joining the last
};

// Runs `work(i)` for i in [0, threads) on that many threads at once and gathers the samples
// each returns. Rethrows a failure of any of them once all have finished.
ThreadedSamples sample_on_threads(int threads, const std::function<std::vector<Nanos>(int)>& work);

// {"count", "p50", "p90", "p99", "max"}, times in microseconds.
Json to_json(const LatencySummary& summary);

}  // namespace harness::bench
