#include "store/store_rules.h"

#include <cstdio>
#include <random>

namespace harness {

std::string lease_token(std::int64_t lease) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(lease));
  return text;
}

std::int64_t random_lease_start() {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  return static_cast<std::int64_t>(random() >> 2);
}

void check_holder(const std::string& task_id, const Holder& holder, const HeldState& state) {
  if (holder.lease) {
    const bool current = *holder.lease == lease_token(state.lease);
    if (current && state.status == TaskStatus::kCompleted) throw already_completed(task_id);
    if (!current || state.status != TaskStatus::kRunning)
      throw Error::conflict("Task " + task_id +
                            ": lease superseded (the task was released, failed or passed to "
                            "another holder since this lease was given; claim again)");
  }
  if (state.status == TaskStatus::kCompleted) throw already_completed(task_id);
  if (state.status != TaskStatus::kRunning || state.claimed_by != holder.worker_id)
    throw Error::conflict("Task " + task_id + " is not claimed by " + holder.worker_id);
}

FailResult end_of_attempt(std::int64_t attempts, std::int64_t max_attempts,
                          std::int64_t retry_backoff_seconds, Micros now) {
  FailResult result;
  result.attempt = attempts + 1;
  if (result.attempt >= max_attempts) {
    result.status = TaskStatus::kFailed;
    return result;
  }
  Task backoff;
  backoff.retry_backoff_seconds = retry_backoff_seconds;
  const std::int64_t wait = retry_backoff_after(backoff, result.attempt);
  if (wait > 0) result.retry_at = now + wait * kMicrosPerSecond;
  return result;
}

std::string expired_lease_reason(const std::optional<std::string>& holder, std::int64_t attempt,
                                 std::int64_t max_attempts) {
  return "the lease of " + holder.value_or("?") + " expired (attempt " + std::to_string(attempt) +
         " of " + std::to_string(max_attempts) + ")";
}

Error unfinished_workflow(const StatusCounts& counts) {
  return Error::conflict("The current workflow still has " + std::to_string(counts.pending) +
                         " pending and " + std::to_string(counts.running) +
                         " running tasks; use --force to replace it");
}

Error not_retryable(const std::string& task_id, TaskStatus status) {
  return Error::conflict("Task " + task_id + " is " + std::string(to_string(status)) +
                         ", not failed: only a failed task is retried");
}

Error no_workflow() { return Error::not_found("No active workflow: import a plan first"); }

Error added_not_pending(const std::string& task_id) {
  return Error::invalid("Task " + task_id + ": a task is added pending");
}

Error duplicate_task(const std::string& task_id) {
  return Error::conflict("Duplicate task id: " + task_id);
}

Error missing_dependency(const std::string& dependency, const std::string& task_id) {
  return Error::invalid("Missing dependency: " + dependency + " (required by " + task_id + ")");
}

Error task_not_found(const std::string& task_id) {
  return Error::not_found("Task " + task_id + " not found");
}

Error already_completed(const std::string& task_id) {
  return Error::conflict("Task " + task_id + " is already completed");
}

}  // namespace harness
