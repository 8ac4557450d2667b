// `harness ping` timed as a whole process — exec, dynamic loading, start-up, connect, one round
// trip, exit — which is what every CLI call of an agent pays.
#pragma once

#include <filesystem>

#include "core/json.h"
#include "latency.h"

namespace harness::bench {

struct PingProbeResult {
  LatencySummary ping;         // `harness ping`
  LatencySummary spawn_floor;  // /bin/true, spawned and reaped the same way: the machine's floor
};

// Runs `harness_binary ping` `count` times, one after another, with HARNESS_SOCKET=socket and
// the output discarded, after a few untimed runs that warm the page cache; then /bin/true as
// often. Each sample is spawn to reaped exit. Throws Error when a run does not exit 0.
PingProbeResult run_ping_probe(const std::filesystem::path& harness_binary,
                               const std::filesystem::path& socket, int count);

Json to_json(const PingProbeResult& result);

}  // namespace harness::bench
