// The load generator proper: import a plan of N tasks, let C concurrent workers loop
// task_claim → task_complete (or task_complete with "next", RequestMode::kNext) until the plan
// is done, then check that every task was completed exactly once.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>

#include "connection.h"
#include "core/json.h"
#include "cpu_counters.h"
#include "daemon_under_test.h"
#include "drain_drivers.h"
#include "latency.h"
#include "plan_shape.h"

namespace harness::bench {

struct DrainOptions {
  PlanSpec plan;
  std::size_t workers = 16;
  ConnectionMode connection = ConnectionMode::kPersistent;
  ClientModel client = ClientModel::kThreads;
  RequestMode requests = RequestMode::kPairs;
  std::filesystem::path socket;  // a running daemon; empty: start one of our own
  // More running daemons on the same plan (PostgreSQL): the workers are spread over `socket`
  // and these; the plan is imported and checked through `socket`.
  std::vector<std::filesystem::path> also_sockets;
  std::filesystem::path harness_binary;  // for a daemon of our own
  bool force = false;                    // let plan_import replace an unfinished workflow
  std::chrono::seconds timeout{600};     // the drain phase fails when it takes longer
  bool keep = false;                     // keep the scratch directory (plan, daemon log, state)
};

struct DrainResult {
  double import_ms = 0;
  double drain_seconds = 0;      // from releasing the workers to the last acknowledged completion
  double pairs_per_second = 0;   // tasks completed per second, whichever the RequestMode
  LatencySummary claim;          // every claim, including those that found nothing ready
  LatencySummary complete;       // every completion (with the claim of "next" in kNext)
  std::size_t empty_claims = 0;  // claims answered with task null (the worker backed off)
  // Commits made by the daemon during the drain phase (status "commits" before and after).
  std::uint64_t batches = 0, mutations = 0, syncs = 0;
  // CPU and context switches during the drain phase: the daemon's (all threads), and this
  // process's (the workers, which share the machine with the daemon).
  CpuCounters daemon_cpu, client_cpu;
  DaemonMemory memory;  // right after the drain, before verification loads the state
  double verify_ms = 0;
};

// Runs the benchmark. Throws Error when anything fails: the daemon, a request, the timeout, or
// verification — a task left unfinished, completed twice, or handed out twice.
DrainResult run_drain(const DrainOptions& options);

// One JSON object with the options that matter and every figure of `result`.
Json to_json(const DrainOptions& options, const DrainResult& result);

}  // namespace harness::bench
