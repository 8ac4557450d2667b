#include "drain_worker.h"

#include "core/error.h"

namespace harness::bench {

namespace {

// A worker whose claim finds nothing ready waits, doubling from the first to the longest
// backoff: short enough that a chain's next task is not left waiting, long enough that idle
// workers do not flood the daemon with empty claims.
constexpr auto kFirstBackoff = std::chrono::microseconds(100);
constexpr auto kLongestBackoff = std::chrono::microseconds(2000);

}  // namespace

const char* to_string(RequestMode mode) { return mode == RequestMode::kPairs ? "pairs" : "next"; }

DrainRun::DrainRun(const Workflow& workflow, std::chrono::seconds t)
    : tasks(workflow.tasks.size()), timeout(t), ledger(workflow) {}

void DrainRun::fail(const std::string& message) {
  std::lock_guard lock(mutex);
  if (failure.empty()) failure = message;
  stop = true;
}

void DrainRun::check_deadline() const {
  if (Clock::now() <= deadline) return;
  throw Error::io("the drain did not finish within " + std::to_string(timeout.count()) + " s (" +
                  std::to_string(completed) + " of " + std::to_string(tasks) + " tasks completed)");
}

DrainWorker::DrainWorker(DrainRun& run, std::size_t index, RequestMode mode)
    : run_(run),
      index_(index),
      mode_(mode),
      name_(worker_name(index)),
      claim_line_(Json{{"command", "task_claim"}, {"worker_id", name_}}.dump()),
      complete_line_tail_((mode == RequestMode::kNext ? R"(,"next":true)" : "") +
                          std::string(R"(,"worker_id":)") + Json(name_).dump() + "}"),
      request_(claim_line_),
      backoff_(kFirstBackoff) {}

std::chrono::microseconds DrainWorker::on_reply(std::string_view reply, Nanos elapsed) {
  if (!task_.empty()) {
    complete_ns.push_back(elapsed);
    return on_complete_reply(reply);
  }
  claim_ns.push_back(elapsed);
  return on_claim_reply(reply);
}

std::chrono::microseconds DrainWorker::on_claim_reply(std::string_view line) {
  ReplySummary reply = summarize_reply(line);
  if (!reply.ok) throw Error::conflict("task_claim failed: " + reply.message);
  return take(std::move(reply));
}

std::chrono::microseconds DrainWorker::take(ReplySummary reply) {
  if (!reply.has_task) {
    ++empty_claims;
    finished_ = reply.plan_complete;
    request_ = claim_line_;
    return std::exchange(backoff_, std::min(backoff_ * 2, kLongestBackoff));
  }
  if (reply.is_retry || reply.is_reclaim)
    throw Error::io("got " + reply.task_id +
                    " again as a retry or reclaim: a completion or lease was lost");
  backoff_ = kFirstBackoff;
  task_ = std::move(reply.task_id);
  request_ = R"({"command":"task_complete","task_id":)";
  append_json_string(request_, task_);
  if (mode_ == RequestMode::kNext) {
    request_ += R"(,"lease":)";
    append_json_string(request_, reply.lease);
  }
  request_ += complete_line_tail_;
  return std::chrono::microseconds::zero();
}

std::chrono::microseconds DrainWorker::on_complete_reply(std::string_view line) {
  const ClaimAt claim_at = mode_ == RequestMode::kNext ? ClaimAt::kNext : ClaimAt::kData;
  ReplySummary reply = summarize_reply(line, claim_at);
  if (!reply.ok) throw Error::conflict("task_complete of " + task_ + " failed: " + reply.message);
  run_.ledger.record(task_, index_);
  if (run_.completed.fetch_add(1) + 1 == run_.tasks) run_.finished_at = DrainRun::Clock::now();
  task_.clear();
  if (mode_ == RequestMode::kPairs) {
    request_ = claim_line_;
    return std::chrono::microseconds::zero();
  }
  if (!reply.has_claim)
    throw Error::io("task_complete with next: the reply has no \"next\" (a daemon without it?)");
  return take(std::move(reply));
}

}  // namespace harness::bench
