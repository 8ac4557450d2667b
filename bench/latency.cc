#include "latency.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <mutex>
#include <thread>

namespace harness::bench {

namespace {

double percentile_us(const std::vector<Nanos>& sorted, double fraction) {
  const auto rank = static_cast<std::size_t>(std::ceil(fraction * sorted.size()));
  return static_cast<double>(sorted[std::max<std::size_t>(rank, 1) - 1]) / 1000.0;
}

}  // namespace

ThreadedSamples sample_on_threads(int threads, const std::function<std::vector<Nanos>(int)>& work) {
  std::mutex mutex;
  ThreadedSamples result;
  std::exception_ptr failure;
  std::vector<std::thread> running;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < threads; ++i)
    running.emplace_back([&, i] {
      try {
        std::vector<Nanos> mine = work(i);
        std::lock_guard lock(mutex);
        result.samples.insert(result.samples.end(), mine.begin(), mine.end());
      } catch (...) {
        std::lock_guard lock(mutex);
        failure = std::current_exception();
      }
    });
  for (std::thread& t : running) t.join();
  if (failure) std::rethrow_exception(failure);
  result.seconds = static_cast<double>(nanos_since(start)) / 1e9;
  return result;
}

Nanos nanos_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() -
                                                              start)
      .count();
}

LatencySummary summarize(std::vector<Nanos> samples) {
  LatencySummary summary;
  summary.count = samples.size();
  if (samples.empty()) return summary;
  std::sort(samples.begin(), samples.end());
  summary.p50_us = percentile_us(samples, 0.50);
  summary.p90_us = percentile_us(samples, 0.90);
  summary.p99_us = percentile_us(samples, 0.99);
  summary.max_us = percentile_us(samples, 1.0);
  return summary;
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t mid = values.size() / 2;
  return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

Json to_json(const LatencySummary& s) {
  return Json{{"count", s.count},
              {"p50", s.p50_us},
              {"p90", s.p90_us},
              {"p99", s.p99_us},
              {"max", s.max_us}};
}

}  // namespace harness::bench
