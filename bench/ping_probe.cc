#include "ping_probe.h"

#include <sys/wait.h>

#include "core/error.h"
#include "process.h"

namespace harness::bench {

namespace {

constexpr int kWarmupRuns = 5;

Nanos timed_run(const SpawnSpec& spec) {
  const auto start = std::chrono::steady_clock::now();
  ChildProcess child(spec);
  const int status = child.wait();
  const Nanos elapsed = nanos_since(start);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw Error::io(spec.args[0] + " failed (" + describe_wait_status(status) + ")");
  return elapsed;
}

LatencySummary time_runs(const SpawnSpec& spec, int count) {
  for (int i = 0; i < kWarmupRuns; ++i) timed_run(spec);
  std::vector<Nanos> samples;
  for (int i = 0; i < count; ++i) samples.push_back(timed_run(spec));
  return summarize(std::move(samples));
}

}  // namespace

PingProbeResult run_ping_probe(const std::filesystem::path& harness_binary,
                               const std::filesystem::path& socket, int count) {
  SpawnSpec ping;
  ping.args = {harness_binary.string(), "ping"};
  // The probe's cwd is not the daemon's worktree: accept it (the check costs two stat calls).
  ping.env = {{"HARNESS_SOCKET", socket.string()}, {"HARNESS_ANY_WORKTREE", "1"}};
  SpawnSpec floor;
  floor.args = {"/bin/true"};
  return {time_runs(ping, count), time_runs(floor, count)};
}

Json to_json(const PingProbeResult& result) {
  return Json{{"probe", "ping"},
              {"process_us", to_json(result.ping)},
              {"spawn_floor_us", to_json(result.spawn_floor)}};
}

}  // namespace harness::bench
