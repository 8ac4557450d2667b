#include "drain.h"

#include <unistd.h>

#include <atomic>
#include <latch>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "core/error.h"
#include "import_probe.h"
#include "reply_summary.h"
#include "temp_dir.h"

namespace harness::bench {

namespace {

using SteadyClock = std::chrono::steady_clock;

// A worker whose claim finds nothing ready sleeps, doubling from the first to the longest
// backoff: short enough that a chain's next task is not left waiting, long enough that idle
// workers do not flood the daemon with empty claims.
constexpr auto kFirstBackoff = std::chrono::microseconds(100);
constexpr auto kLongestBackoff = std::chrono::microseconds(2000);
constexpr std::size_t kProblemsQuoted = 5;

std::string worker_name(std::size_t index) {
  return "bench-" + std::to_string(::getpid()) + "-w" + std::to_string(index);
}

// Which worker acknowledged each task's completion, and how often.
class Ledger {
 public:
  explicit Ledger(const Workflow& workflow) : acks_(workflow.tasks.size()), by_(acks_.size()) {
    index_.reserve(acks_.size());
    for (std::size_t i = 0; i < acks_.size(); ++i) index_.emplace(workflow.tasks[i].id, i);
  }

  void record(const std::string& task_id, std::size_t worker) {
    const auto it = index_.find(task_id);
    if (it == index_.end()) throw Error::io("the daemon handed out unknown task " + task_id);
    acks_[it->second].fetch_add(1);
    by_[it->second].store(worker);
  }

  // Throws Error::io listing the first tasks not acknowledged exactly once.
  void verify_acks(const Workflow& workflow) const {
    std::string problems;
    std::size_t count = 0;
    for (std::size_t i = 0; i < acks_.size(); ++i) {
      if (acks_[i] == 1) continue;
      if (++count <= kProblemsQuoted)
        problems += " " + workflow.tasks[i].id + " (" + std::to_string(acks_[i]) + " acks)";
    }
    if (count)
      throw Error::io(std::to_string(count) + " tasks were not completed exactly once:" + problems);
  }

  // Throws Error::io when the daemon's state disagrees: a task missing, not completed, or
  // completed by another worker than the one that was acknowledged.
  void verify_state(const Json& state) const {
    const Json& tasks = state.at("tasks");
    if (tasks.size() != acks_.size())
      throw Error::io("get_state holds " + std::to_string(tasks.size()) + " tasks, expected " +
                      std::to_string(acks_.size()));
    std::string problems;
    std::size_t count = 0;
    for (const auto& [id, task] : tasks.items()) {
      const auto it = index_.find(id);
      const std::string status = task.value("status", "");
      const bool ok = it != index_.end() && status == "completed" &&
                      task.value("claimed_by", Json()) == worker_name(by_[it->second]);
      if (!ok && ++count <= kProblemsQuoted) problems += " " + id + " (" + status + ")";
    }
    if (count) throw Error::io(std::to_string(count) + " tasks are wrong in get_state:" + problems);
  }

 private:
  std::unordered_map<std::string, std::size_t> index_;
  std::vector<std::atomic<std::uint32_t>> acks_;
  std::vector<std::atomic<std::size_t>> by_;
};

// What the workers of one run share.
struct Run {
  Run(const DrainOptions& o, std::filesystem::path s, const Workflow& workflow)
      : options(o), socket(std::move(s)), tasks(workflow.tasks.size()), ledger(workflow) {}

  const DrainOptions& options;
  std::filesystem::path socket;
  std::size_t tasks;
  Ledger ledger;
  SteadyClock::time_point deadline;
  std::atomic<std::size_t> completed{0};
  std::atomic<bool> stop{false};
  SteadyClock::time_point finished_at;  // written once, by the last completion
  std::mutex mutex;
  std::string failure;  // the first one

  void fail(const std::string& message) {
    std::lock_guard lock(mutex);
    if (failure.empty()) failure = message;
    stop = true;
  }
};

class Worker {
 public:
  Worker(Run& run, std::size_t index)
      : run_(run),
        index_(index),
        name_(worker_name(index)),
        connection_(run.socket, run.options.connection),
        // The request lines are written once, or nearly: what the CLI would send.
        claim_line_(Json{{"command", "task_claim"}, {"worker_id", name_}}.dump()),
        complete_line_tail_(R"(,"worker_id":)" + Json(name_).dump() + "}") {}

  // Warms up a persistent connection, waits at the gate, then drains.
  void run(std::latch& gate) {
    try {
      if (run_.options.connection == ConnectionMode::kPersistent)
        call(connection_, Json{{"command", "ping"}});
    } catch (const std::exception& e) {
      run_.fail(name_ + ": " + e.what());
    }
    gate.arrive_and_wait();
    try {
      drain();
    } catch (const std::exception& e) {
      run_.fail(name_ + ": " + e.what());
    }
  }

  std::vector<Nanos> claim_ns, complete_ns;
  std::size_t empty_claims = 0;

 private:
  void drain() {
    auto backoff = kFirstBackoff;
    while (!run_.stop && run_.completed < run_.tasks) {
      if (SteadyClock::now() > run_.deadline)
        return run_.fail("the drain did not finish within " +
                         std::to_string(run_.options.timeout.count()) + " s (" +
                         std::to_string(run_.completed) + " of " + std::to_string(run_.tasks) +
                         " tasks completed)");
      if (std::optional<std::string> task = claim()) {
        backoff = kFirstBackoff;
        complete(*task);
        continue;
      }
      ++empty_claims;
      std::this_thread::sleep_for(backoff);
      backoff = std::min<std::chrono::microseconds>(backoff * 2, kLongestBackoff);
    }
  }

  std::optional<std::string> claim() {
    const auto start = SteadyClock::now();
    const ReplySummary reply = summarize_reply(connection_.round_trip(claim_line_));
    claim_ns.push_back(nanos_since(start));
    if (!reply.ok) throw Error::conflict("task_claim failed: " + reply.message);
    if (!reply.has_task) return std::nullopt;
    if (reply.is_retry || reply.is_reclaim)
      throw Error::io("got " + reply.task_id +
                      " again as a retry or reclaim: a completion or lease was lost");
    return reply.task_id;
  }

  void complete(const std::string& task_id) {
    std::string line = R"({"command":"task_complete","task_id":)";
    append_json_string(line, task_id);
    line += complete_line_tail_;
    const auto start = SteadyClock::now();
    const ReplySummary reply = summarize_reply(connection_.round_trip(line));
    complete_ns.push_back(nanos_since(start));
    if (!reply.ok)
      throw Error::conflict("task_complete of " + task_id + " failed: " + reply.message);
    run_.ledger.record(task_id, index_);
    if (run_.completed.fetch_add(1) + 1 == run_.tasks) run_.finished_at = SteadyClock::now();
  }

  Run& run_;
  std::size_t index_;
  std::string name_;
  Connection connection_;
  std::string claim_line_;
  std::string complete_line_tail_;  // after the task id
};

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
void drain(Run& run, DaemonUnderTest& daemon, DrainResult& result) {
  // Read before any worker waits at the gate, so that a failure here cannot strand them.
  const CpuCounters daemon_before = process_cpu_counters(daemon.pid());
  std::vector<std::unique_ptr<Worker>> workers;
  for (std::size_t i = 0; i < run.options.workers; ++i)
    workers.push_back(std::make_unique<Worker>(run, i));
  std::latch gate(static_cast<std::ptrdiff_t>(workers.size() + 1));
  std::vector<std::jthread> threads;
  for (auto& worker : workers) threads.emplace_back([&gate, w = worker.get()] { w->run(gate); });
  run.deadline = SteadyClock::now() + run.options.timeout;
  const CpuCounters client_before = own_cpu_counters();
  gate.arrive_and_wait();
  const auto start = SteadyClock::now();
  threads.clear();  // joins
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
  Run run(options, daemon.socket(), workflow);
  drain(run, daemon, result);
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
