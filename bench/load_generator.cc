// harness-bench: the load generator and whole-system probes of docs/performance.md.
//
//   harness-bench drain   --tasks N --shape S --workers C --connection persistent|per-request
//                         --client threads|event-loop [--next]
//   harness-bench ping    --count 200            (`harness ping` as a whole process)
//   harness-bench startup --tasks 100000         (daemon spawn → first claim answered)
//   harness-bench import  --tasks 100000 --via file|socket|update-state
//                         (plan_import of a plan file, or the plan on the request line; validated)
//   harness-bench fsync   --count 200 --threads 1  (write 4 KiB + fdatasync under /tmp)
//   harness-bench cpu     --seconds 1 --threads 1  (a spin loop: how fast the cores are now)
//   harness-bench rate    --request ping|claim --workers 16 --seconds 3  (round trips/s)
//
// Each prints a human summary, or with --json one JSON object on one line. A failure —
// including a drain whose tasks were not all completed exactly once — exits 1 with FAILED.
#include <cstdio>
#include <iostream>
#include <map>

#include <CLI/CLI.hpp>

#include "core/error.h"
#include "cpu_probe.h"
#include "daemon_under_test.h"
#include "drain.h"
#include "fsync_probe.h"
#include "import_probe.h"
#include "ping_probe.h"
#include "round_trip_probe.h"
#include "startup_probe.h"
#include "temp_dir.h"

namespace harness::bench {

namespace {

struct Settings {
  std::filesystem::path harness_binary = default_harness_binary();
  bool json = false;
  DrainOptions drain;
  std::string shape = "independent";
  std::string connection = "persistent";
  std::string client = "threads";
  bool next = false;
  std::filesystem::path socket;
  int count = 200;
  int threads = 1;
  std::string probe_request = "ping";
  double seconds = 3;
  int runs = 3;
  std::string import_via = "file";
  int timeout_seconds = 600;
  std::filesystem::path fsync_dir = "/tmp";
};

void add_plan_options(CLI::App& app, Settings& s, std::size_t default_tasks) {
  s.drain.plan.tasks = default_tasks;
  app.add_option("--tasks,-n", s.drain.plan.tasks, "Number of tasks")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--shape", s.shape, "independent | chain | fanout | layers")
      ->capture_default_str()
      ->check(CLI::IsMember({"independent", "chain", "fanout", "layers"}));
  app.add_option("--width", s.drain.plan.width, "Tasks per layer (layers)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_flag("--dense", s.drain.plan.dense,
               "layers: each task depends on every task of the previous layer (width² edges "
               "per layer) instead of on one");
}

void print_latency(const char* what, const LatencySummary& l) {
  std::printf("  %-11s p50 %.0f µs  p90 %.0f µs  p99 %.0f µs  max %.0f µs  (n=%zu)\n", what,
              l.p50_us, l.p90_us, l.p99_us, l.max_us, l.count);
}

void print_cpu(const char* what, const CpuCounters& cpu, const DrainResult& r) {
  const double pairs = r.pairs_per_second * r.drain_seconds;
  const double ticked = cpu.user_seconds + cpu.system_seconds;
  std::printf(
      "  %-11s %.0f µs per pair (%.0f%% kernel), %.1f context switches per pair, %.2f "
      "cores busy\n",
      what, cpu.cpu_seconds * 1e6 / pairs, ticked > 0 ? 100 * cpu.system_seconds / ticked : 0.0,
      static_cast<double>(cpu.context_switches) / pairs, cpu.cpu_seconds / r.drain_seconds);
}

void print_runs(const char* what, const std::vector<double>& runs_ms) {
  std::printf("%s: median %.1f ms (runs:", what, median(runs_ms));
  for (double ms : runs_ms) std::printf(" %.1f", ms);
  std::printf(")\n");
}

int do_drain(Settings& s) {
  s.drain.plan.shape = parse_shape(s.shape);
  s.drain.connection =
      s.connection == "persistent" ? ConnectionMode::kPersistent : ConnectionMode::kPerRequest;
  s.drain.client = s.client == "threads" ? ClientModel::kThreads : ClientModel::kEventLoop;
  if (s.next) s.drain.requests = RequestMode::kNext;
  s.drain.socket = s.socket;
  s.drain.harness_binary = s.harness_binary;
  s.drain.timeout = std::chrono::seconds(s.timeout_seconds);
  const DrainResult r = run_drain(s.drain);
  if (s.json) {
    std::cout << to_json(s.drain, r).dump() << std::endl;
    return 0;
  }
  std::printf("drain: %zu %s tasks, %zu workers (%s), %s connections, %s\n", s.drain.plan.tasks,
              s.shape.c_str(), s.drain.workers, s.client.c_str(), s.connection.c_str(),
              s.next ? "task_complete --next" : "claim+complete pairs");
  std::printf("  %-11s %.1f ms\n", "import", r.import_ms);
  std::printf("  %-11s %.3f s  -> %.0f tasks/s\n", "drain", r.drain_seconds, r.pairs_per_second);
  print_latency("claim", r.claim);
  print_latency("complete", r.complete);
  std::printf("  %-11s %zu claims found nothing ready\n", "empty", r.empty_claims);
  std::printf("  %-11s %llu batches, %llu syncs, %llu mutations (%.1f per commit, %.1f per sync)\n",
              "commits", static_cast<unsigned long long>(r.batches),
              static_cast<unsigned long long>(r.syncs),
              static_cast<unsigned long long>(r.mutations),
              r.batches ? static_cast<double>(r.mutations) / static_cast<double>(r.batches) : 0.0,
              r.syncs ? static_cast<double>(r.mutations) / static_cast<double>(r.syncs) : 0.0);
  print_cpu("daemon CPU", r.daemon_cpu, r);
  print_cpu("client CPU", r.client_cpu, r);
  std::printf("  %-11s %.1f MB after the drain (peak %.1f MB)\n", "daemon RSS",
              r.memory.rss_kb / 1024.0, r.memory.hwm_kb / 1024.0);
  std::printf("  %-11s every task completed exactly once (check took %.0f ms)\n", "verified",
              r.verify_ms);
  return 0;
}

// Runs `probe(socket)` against the daemon at --socket, or against one of its own when none is
// given, and returns what it returns.
template <typename Probe>
auto against_daemon(const Settings& s, Probe probe) {
  if (!s.socket.empty()) return probe(s.socket);
  TempDir dir;
  DaemonUnderTest daemon = DaemonUnderTest::start(s.harness_binary, dir.path());
  auto result = probe(daemon.socket());
  daemon.stop();
  return result;
}

int do_ping(Settings& s) {
  const PingProbeResult r = against_daemon(s, [&](const std::filesystem::path& socket) {
    return run_ping_probe(s.harness_binary, socket, s.count);
  });
  if (s.json) {
    std::cout << to_json(r).dump() << std::endl;
    return 0;
  }
  print_latency("harness ping", r.ping);
  print_latency("/bin/true", r.spawn_floor);
  return 0;
}

int do_rate(Settings& s) {
  const ProbeRequest request =
      s.probe_request == "ping" ? ProbeRequest::kPing : ProbeRequest::kClaim;
  const auto duration = std::chrono::milliseconds(static_cast<long>(s.seconds * 1000));
  const RoundTripProbeResult r = against_daemon(s, [&](const std::filesystem::path& socket) {
    return run_round_trip_probe(socket, request, static_cast<int>(s.drain.workers), duration);
  });
  if (s.json) {
    Json out = to_json(r);
    out["probe"] = "rate";
    out["request"] = s.probe_request;
    out["workers"] = s.drain.workers;
    std::cout << out.dump() << std::endl;
    return 0;
  }
  std::printf("%s: %.0f requests/s from %zu workers\n", s.probe_request.c_str(), r.requests_per_s,
              s.drain.workers);
  print_latency("round trip", r.latency);
  return 0;
}

int do_startup(Settings& s) {
  s.drain.plan.shape = parse_shape(s.shape);
  const StartupProbeResult r = run_startup_probe(s.harness_binary, s.drain.plan, s.runs);
  if (s.json)
    std::cout << to_json(r).dump() << std::endl;
  else
    print_runs("daemon start until the first claim is answered", r.runs_ms);
  return 0;
}

int do_import(Settings& s) {
  s.drain.plan.shape = parse_shape(s.shape);
  const ImportProbeResult r =
      run_import_probe(s.harness_binary, s.drain.plan, s.runs, parse_import_via(s.import_via));
  if (s.json) {
    std::cout << to_json(r).dump() << std::endl;
    return 0;
  }
  print_runs(("import of " + std::to_string(r.plan_bytes) + " bytes via " + s.import_via).c_str(),
             r.runs_ms);
  for (long kb : r.daemon_hwm_kb) std::printf("  daemon peak %.1f MiB\n", kb / 1024.0);
  return 0;
}

int do_fsync(Settings& s) {
  const FsyncProbeResult r = run_fsync_probe(s.fsync_dir, s.count, s.threads);
  if (s.json)
    std::cout << Json{{"probe", "fsync"},
                      {"threads", s.threads},
                      {"write_fdatasync_us", to_json(r.latency)},
                      {"syncs_per_s", r.syncs_per_s}}
                     .dump()
              << std::endl;
  else {
    print_latency("fdatasync", r.latency);
    std::printf("%.0f syncs/s from %d thread(s)\n", r.syncs_per_s, s.threads);
  }
  return 0;
}

int do_cpu(Settings& s) {
  const auto duration = std::chrono::milliseconds(static_cast<long>(s.seconds * 1000));
  const CpuProbeResult r = run_cpu_probe(duration, s.threads);
  if (s.json) {
    Json out = to_json(r);
    out["probe"] = "cpu";
    out["threads"] = s.threads;
    std::cout << out.dump() << std::endl;
    return 0;
  }
  print_latency("work unit", r.unit);
  std::printf("%.1f units/ms per thread from %d thread(s)\n", r.units_per_ms_per_thread, s.threads);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  CLI::App app("Load generator and probes for the harness daemon (docs/performance.md)",
               "harness-bench");
  app.require_subcommand(1);
  app.add_option("--harness", s.harness_binary, "The harness binary (default: next to this one)")
      ->check(CLI::ExistingFile);
  app.add_flag("--json", s.json, "Print one JSON object on one line");
  std::map<CLI::App*, int (*)(Settings&)> actions;

  CLI::App* drain = app.add_subcommand(
      "drain",
      "Import N tasks, drain them with C workers (claim -> complete, or complete --next), verify");
  add_plan_options(*drain, s, 1000);
  drain
      ->add_option("--workers,-c", s.drain.workers,
                   "Concurrent workers, each with one request outstanding")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  drain
      ->add_option("--client", s.client,
                   "threads (a thread per worker, blocked while its request is out, as separate "
                   "agent processes are) | event-loop (every worker on one epoll thread, as wrk "
                   "or memtier drive a server: the least client CPU on the shared cores)")
      ->capture_default_str()
      ->check(CLI::IsMember({"threads", "event-loop"}));
  drain->add_flag("--next", s.next,
                  "Complete with \"next\" (and the lease): the completion claims the worker's "
                  "next task, one round trip per task instead of a claim and a complete");
  drain->add_option("--connection", s.connection, "persistent | per-request")
      ->capture_default_str()
      ->check(CLI::IsMember({"persistent", "per-request"}));
  drain->add_option("--socket", s.socket,
                    "A running daemon (default: start one on a scratch "
                    "worktree under /tmp)");
  drain->add_option("--also-socket", s.drain.also_sockets,
                    "Another running daemon on the same plan (PostgreSQL); workers are spread "
                    "over all of them. Repeatable; needs --socket");
  drain->add_flag("--force", s.drain.force, "Replace the daemon's unfinished workflow");
  drain->add_option("--timeout", s.timeout_seconds, "Fail when the drain takes longer (seconds)")
      ->capture_default_str();
  drain->add_flag("--keep", s.drain.keep, "Keep the scratch directory (plan, state, daemon log)");
  actions[drain] = do_drain;

  CLI::App* ping = app.add_subcommand("ping", "Time `harness ping` as a whole process");
  ping->add_option("--count", s.count, "Timed runs")->capture_default_str();
  ping->add_option("--socket", s.socket, "A running daemon (default: start one)");
  actions[ping] = do_ping;

  CLI::App* rate = app.add_subcommand(
      "rate", "Round trips/s of ping, or of a claim that finds no task, from C workers");
  rate->add_option("--request", s.probe_request,
                   "ping (the socket path) | claim (the mutation path, without a workflow)")
      ->capture_default_str()
      ->check(CLI::IsMember({"ping", "claim"}));
  rate->add_option("--workers,-c", s.drain.workers, "Concurrent workers (threads)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  rate->add_option("--seconds", s.seconds, "How long to run")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  rate->add_option("--socket", s.socket,
                   "A running daemon without a workflow (default: start one)");
  actions[rate] = do_rate;

  CLI::App* startup =
      app.add_subcommand("startup", "Time daemon start on an existing workflow until a claim");
  add_plan_options(*startup, s, 100'000);
  startup->add_option("--runs", s.runs, "Starts to time")->capture_default_str();
  actions[startup] = do_startup;

  CLI::App* import = app.add_subcommand("import", "Time plan_import of a plan file");
  add_plan_options(*import, s, 100'000);
  import->add_option("--runs", s.runs, "Imports to time")->capture_default_str();
  import
      ->add_option("--via", s.import_via,
                   "file (plan_import of a file), socket (plan_import with the tasks inline) or "
                   "update-state (update_state with the tasks)")
      ->capture_default_str()
      ->check(CLI::IsMember({"file", "socket", "update-state"}));
  actions[import] = do_import;

  CLI::App* fsync = app.add_subcommand("fsync", "Time write 4 KiB + fdatasync (appending)");
  fsync->add_option("--count", s.count, "Writes to time, per thread")->capture_default_str();
  fsync->add_option("--threads", s.threads, "Threads writing and syncing at once")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  fsync->add_option("--dir", s.fsync_dir, "Where the scratch file goes")->capture_default_str();
  actions[fsync] = do_fsync;

  CLI::App* cpu = app.add_subcommand(
      "cpu", "Time a spin loop's work units: how fast the cores are now, alone or together");
  cpu->add_option("--seconds", s.seconds, "How long to run")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cpu->add_option("--threads", s.threads, "Threads spinning at once")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  actions[cpu] = do_cpu;

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help is a ParseError too
  }
  try {
    return actions.at(app.get_subcommands().front())(s);
  } catch (const std::exception& e) {
    std::cerr << "harness-bench: FAILED: " << e.what() << std::endl;
    return 1;
  }
}

}  // namespace harness::bench

int main(int argc, char** argv) { return harness::bench::main(argc, argv); }
