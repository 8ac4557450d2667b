// The parts of the Store contract (store/store.h) that do not depend on an engine: the checks
// of a holder's change, the lease token's text, the end of an attempt, and the refusals every
// engine words the same way. Each engine reads its rows its own way and decides with these, so
// that SQLite and PostgreSQL answer alike, message for message.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/clock.h"
#include "core/error.h"
#include "core/task.h"
#include "core/workflow.h"
#include "store/store.h"

namespace harness {

// A lease as its holder sees it: 16 hex digits. Each task's lease counts up from a random start
// chosen when the task is stored (random_lease_start), so that a token of a replaced plan's task
// of the same id is not taken for the new one's.
std::string lease_token(std::int64_t lease);
// Below 2^62: room for more increments than a task will ever see.
std::int64_t random_lease_start();

// What the checks of a holder's change read of a task.
struct HeldState {
  TaskStatus status = TaskStatus::kPending;
  std::optional<std::string> claimed_by;
  std::int64_t lease = 0;
};

// The checks of Store (store.h) after the task was found: with a lease that is not current,
// Error::conflict "Task X: lease superseded ..."; Error::conflict "Task X is already completed",
// "Task X is not claimed by W".
void check_holder(const std::string& task_id, const Holder& holder, const HeldState& state);

// How an attempt that did not complete ends: `attempts` ended before it, of `max_attempts`,
// with `retry_backoff_seconds`. Pending again after the backoff while attempts remain, else
// failed.
FailResult end_of_attempt(std::int64_t attempts, std::int64_t max_attempts,
                          std::int64_t retry_backoff_seconds, Micros now);

// last_error of a task whose holder's lease ran out on its attempt `attempt` of `max_attempts`.
std::string expired_lease_reason(const std::optional<std::string>& holder, std::int64_t attempt,
                                 std::int64_t max_attempts);

// Refusals worded alike by every engine.
Error unfinished_workflow(const StatusCounts& counts);  // ReplaceMode::kUnlessUnfinished
Error not_retryable(const std::string& task_id, TaskStatus status);
Error no_workflow();  // add_task without a workflow
Error added_not_pending(const std::string& task_id);
Error duplicate_task(const std::string& task_id);
Error missing_dependency(const std::string& dependency, const std::string& task_id);
Error task_not_found(const std::string& task_id);
Error already_completed(const std::string& task_id);

}  // namespace harness
