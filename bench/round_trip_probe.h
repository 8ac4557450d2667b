// The daemon's request rate without the work of a plan: C workers on persistent connections
// send one kind of request as fast as replies come back, for a fixed time. `ping` is answered
// on the I/O thread (the ceiling of the socket path); `claim` with no workflow crosses the
// whole mutation path — the claim run on the I/O thread, an empty commit, an fdatasync, the
// syncer — but finds no task (the ceiling of the group commit itself). A drain's pairs/s set
// against these shows how much of a round trip is the plan's own work.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include "core/json.h"
#include "latency.h"

namespace harness::bench {

enum class ProbeRequest { kPing, kClaim };

struct RoundTripProbeResult {
  double requests_per_s = 0;
  LatencySummary latency;  // of each round trip, at the client
};

// Runs `workers` threads against `socket` for `duration`. Throws Error when a request fails,
// and Error::conflict when `kClaim` is answered with a task (the daemon must have no workflow).
RoundTripProbeResult run_round_trip_probe(const std::filesystem::path& socket, ProbeRequest request,
                                          int workers, std::chrono::milliseconds duration);

Json to_json(const RoundTripProbeResult& result);

}  // namespace harness::bench
