#include "round_trip_probe.h"

#include <vector>

#include "connection.h"
#include "core/error.h"

namespace harness::bench {

namespace {

using SteadyClock = std::chrono::steady_clock;

Json request_json(ProbeRequest request, int worker) {
  if (request == ProbeRequest::kPing) return Json{{"command", "ping"}};
  return Json{{"command", "task_claim"}, {"worker_id", "probe-" + std::to_string(worker)}};
}

// One worker's loop until `deadline`; returns the latency of each round trip.
std::vector<Nanos> run_worker(const std::filesystem::path& socket, ProbeRequest request, int worker,
                              SteadyClock::time_point deadline) {
  Connection connection(socket, ConnectionMode::kPersistent);
  const Json line = request_json(request, worker);
  std::vector<Nanos> samples;
  while (SteadyClock::now() < deadline) {
    const auto start = SteadyClock::now();
    const Json data = call(connection, line);
    samples.push_back(nanos_since(start));
    if (request == ProbeRequest::kClaim && !data.at("task").is_null())
      throw Error::conflict("the claim probe needs a daemon without a workflow");
  }
  return samples;
}

}  // namespace

RoundTripProbeResult run_round_trip_probe(const std::filesystem::path& socket, ProbeRequest request,
                                          int workers, std::chrono::milliseconds duration) {
  const auto deadline = SteadyClock::now() + duration;
  ThreadedSamples run = sample_on_threads(
      workers, [&](int worker) { return run_worker(socket, request, worker, deadline); });
  const double requests = static_cast<double>(run.samples.size());
  return RoundTripProbeResult{requests / run.seconds, summarize(std::move(run.samples))};
}

Json to_json(const RoundTripProbeResult& result) {
  return Json{{"requests_per_s", result.requests_per_s},
              {"round_trip_us", to_json(result.latency)}};
}

}  // namespace harness::bench
