#include "drain.h"

#include "core/error.h"
#include "drain_drivers.h"
#include "import_probe.h"
#include "temp_dir.h"

namespace harness::bench {

namespace {

using SteadyClock = std::chrono::steady_clock;

struct CommitStats {
  std::uint64_t batches = 0, mutations = 0, syncs = 0;
};

CommitStats commit_stats(const std::filesystem::path& socket) {
  Connection connection(socket, ConnectionMode::kPerRequest);
  const Json data = call(connection, Json{{"command", "status"}});
  const Json& commits = data.at("commits");
  return {commits.at("batches").get<std::uint64_t>(), commits.at("mutations").get<std::uint64_t>(),
          commits.value("syncs", std::uint64_t{0})};  // absent from daemons before syncs
}

// Runs the workers to the end of the plan and fills the drain figures of `result`.
void drain(DrainRun& run, const DrainOptions& options, DaemonUnderTest& daemon,
           DrainResult& result) {
  std::vector<std::unique_ptr<DrainWorker>> workers;
  for (std::size_t i = 0; i < options.workers; ++i)
    workers.push_back(std::make_unique<DrainWorker>(run, i, options.requests));
  const CpuCounters daemon_before = process_cpu_counters(daemon.pid());
  CpuCounters client_before;
  SteadyClock::time_point start;
  std::vector<std::filesystem::path> sockets{daemon.socket()};
  sockets.insert(sockets.end(), options.also_sockets.begin(), options.also_sockets.end());
  drive(run, workers, DriverOptions{sockets, options.connection, options.client}, [&] {
    client_before = own_cpu_counters();
    start = SteadyClock::now();
    run.deadline = start + options.timeout;
  });
  if (!run.failure.empty()) throw Error::io(run.failure);
  result.daemon_cpu = process_cpu_counters(daemon.pid()) - daemon_before;
  result.client_cpu = own_cpu_counters() - client_before;

  result.drain_seconds = std::chrono::duration<double>(run.finished_at - start).count();
  result.pairs_per_second = static_cast<double>(run.tasks) / result.drain_seconds;
  std::vector<Nanos> claims, completes;
  for (const auto& w : workers) {
    claims.insert(claims.end(), w->claim_ns.begin(), w->claim_ns.end());
    completes.insert(completes.end(), w->complete_ns.begin(), w->complete_ns.end());
    result.empty_claims += w->empty_claims;
  }
  result.claim = summarize(std::move(claims));
  result.complete = summarize(std::move(completes));
}

DrainResult measure(const DrainOptions& options, const Workflow& workflow,
                    const std::filesystem::path& plan_file, DaemonUnderTest& daemon) {
  DrainResult result;
  result.import_ms =
      import_plan_ms(daemon.socket(), plan_file, options.force, workflow.tasks.size());
  const CommitStats before = commit_stats(daemon.socket());
  DrainRun run(workflow, options.timeout);
  drain(run, options, daemon, result);
  result.memory = daemon.memory();
  const CommitStats after = commit_stats(daemon.socket());
  result.batches = after.batches - before.batches;
  result.mutations = after.mutations - before.mutations;
  result.syncs = after.syncs - before.syncs;

  const auto verify_start = SteadyClock::now();
  run.ledger.verify_acks(workflow);
  Connection connection(daemon.socket(), ConnectionMode::kPerRequest);
  run.ledger.verify_state(call(connection, Json{{"command", "get_state"}}));
  result.verify_ms = static_cast<double>(nanos_since(verify_start)) / 1e6;
  return result;
}

// CPU per claim+complete pair, the kernel's share of it, and context switches per pair.
Json cpu_json(const CpuCounters& cpu, const DrainResult& r) {
  const double pairs = r.pairs_per_second * r.drain_seconds;
  const double ticked = cpu.user_seconds + cpu.system_seconds;
  return Json{{"us_per_pair", cpu.cpu_seconds * 1e6 / pairs},
              {"kernel_share", ticked > 0 ? cpu.system_seconds / ticked : 0.0},
              {"switches_per_pair", static_cast<double>(cpu.context_switches) / pairs},
              {"utilisation", cpu.cpu_seconds / r.drain_seconds}};
}

}  // namespace

DrainResult run_drain(const DrainOptions& options) {
  if (options.workers == 0) throw Error::invalid("at least one worker is needed");
  if (!options.also_sockets.empty() && options.socket.empty())
    throw Error::invalid("--also-socket needs --socket: the daemon the plan is imported through");
  TempDir dir;
  if (options.keep) dir.keep();
  try {
    const Workflow workflow = make_workflow(options.plan);
    const std::filesystem::path plan_file = dir.path() / "plan.json";
    write_plan_file(workflow, plan_file);
    DaemonUnderTest daemon = options.socket.empty()
                                 ? DaemonUnderTest::start(options.harness_binary, dir.path())
                                 : DaemonUnderTest::attach(options.socket);
    DrainResult result = measure(options, workflow, plan_file, daemon);
    daemon.stop();
    return result;
  } catch (const Error& e) {
    dir.keep();  // the daemon's log and state explain the failure
    throw Error(e.kind(), std::string(e.what()) + " [scratch kept in " + dir.path().string() + "]");
  }
}

Json to_json(const DrainOptions& options, const DrainResult& r) {
  return Json{
      {"probe", "drain"},
      {"shape", to_string(options.plan.shape)},
      {"tasks", options.plan.tasks},
      {"width", options.plan.width},
      {"dense", options.plan.dense},
      {"workers", options.workers},
      {"connection",
       options.connection == ConnectionMode::kPersistent ? "persistent" : "per-request"},
      {"client", to_string(options.client)},
      {"requests", to_string(options.requests)},
      {"import_ms", r.import_ms},
      {"drain_s", r.drain_seconds},
      {"pairs_per_s", r.pairs_per_second},
      {"claim_us", to_json(r.claim)},
      {"complete_us", to_json(r.complete)},
      {"empty_claims", r.empty_claims},
      {"commits",
       {{"batches", r.batches},
        {"mutations", r.mutations},
        {"syncs", r.syncs},
        {"mutations_per_commit",
         r.batches ? static_cast<double>(r.mutations) / static_cast<double>(r.batches) : 0.0},
        {"mutations_per_sync",
         r.syncs ? static_cast<double>(r.mutations) / static_cast<double>(r.syncs) : 0.0}}},
      {"daemon_cpu", cpu_json(r.daemon_cpu, r)},
      {"client_cpu", cpu_json(r.client_cpu, r)},
      {"daemon_rss_kb", r.memory.rss_kb},
      {"daemon_hwm_kb", r.memory.hwm_kb},
      {"verify_ms", r.verify_ms},
      {"verified", true}};
}

}  // namespace harness::bench
