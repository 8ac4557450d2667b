// The per-request codec work of the daemon's hot path: parsing a claim or complete request
// line and serialising the replies (the claim reply carries a whole task), plus the client's
// parse of a claim reply.
#include <benchmark/benchmark.h>

#include "core/task.h"
#include "protocol/envelope.h"
#include "protocol/request_codec.h"

namespace harness::bench {
namespace {

const std::string kClaimLine = R"({"command":"task_claim","worker_id":"bench-1234-w7"})";
const std::string kCompleteLine =
    R"({"command":"task_complete","task_id":"t48213","worker_id":"bench-1234-w7"})";

Task running_task() {
  Task task;
  task.id = "t48213";
  task.description = "benchmark task 48213";
  task.status = TaskStatus::kRunning;
  task.dependencies = {"t48113"};
  task.started_at = 1'790'000'000'000'000;
  task.claimed_by = "bench-1234-w7";
  return task;
}

// A claim reply as a JSON value (the client's view, and how the daemon used to build it).
Json claim_data(const Task& task) {
  return Json{{"task", task_to_json(task)}, {"is_retry", false}, {"is_reclaim", false}};
}

void BM_ParseClaimRequest(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(parse_request(kClaimLine));
}

void BM_ParseCompleteRequest(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(parse_request(kCompleteLine));
}

// The daemon writes a claim reply's text directly (append_task_json).
void BM_ClaimReply(benchmark::State& state) {
  const Task task = running_task();
  for (auto _ : state) {
    std::string line(kOkReplyHead);
    line += R"({"task":)";
    append_task_json(line, task);
    line += R"(,"is_retry":false,"is_reclaim":false})";
    line += kOkReplyTail;
    benchmark::DoNotOptimize(line);
  }
}

// The same text through a JSON value: what the direct writer saves.
void BM_ClaimReplyViaJsonValue(benchmark::State& state) {
  const Task task = running_task();
  for (auto _ : state) benchmark::DoNotOptimize(ok_reply(claim_data(task)));
}

void BM_CompleteReply(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(ok_reply(Json{{"task_id", "t48213"}}));
}

void BM_ParseClaimReply(benchmark::State& state) {
  const std::string line = ok_reply(claim_data(running_task()));
  for (auto _ : state) benchmark::DoNotOptimize(parse_json(line));
}

BENCHMARK(BM_ParseClaimRequest);
BENCHMARK(BM_ParseCompleteRequest);
BENCHMARK(BM_ClaimReply);
BENCHMARK(BM_ClaimReplyViaJsonValue);
BENCHMARK(BM_CompleteReply);
BENCHMARK(BM_ParseClaimReply);

}  // namespace
}  // namespace harness::bench
