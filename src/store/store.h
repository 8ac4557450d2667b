// The storage interface (DESIGN §4): the workflow's operations, in the domain's terms. Every
// read and write of workflow state goes through a Store, so that a second engine (PostgreSQL
// with SELECT ... FOR UPDATE SKIP LOCKED, for workers on several machines) can implement it
// later. Group commit is a capability of its own (store/batching_store.h); an engine opens
// through open_store (store/open_store.h). A Store object is used by one thread at a time.
// Everything a Store throws is a harness::Error (core/error.h): besides each operation's own,
// Error::io when the storage fails and Error::corruption when what it holds cannot be read back.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/task.h"
#include "core/workflow.h"

namespace harness {

// Who asks for a change to a task it holds: the worker, and the lease token its claim returned.
// Without a token (clients that predate them) only ownership is checked; with one, the token
// must be the task's current lease, whichever worker sends it (DESIGN §2b).
struct Holder {
  // Implicit from a worker id: the changes of clients without tokens read as they did.
  Holder(std::string worker, std::optional<std::string> token = std::nullopt)
      : worker_id(std::move(worker)), lease(std::move(token)) {}
  Holder(const char* worker) : worker_id(worker) {}

  std::string worker_id;
  std::optional<std::string> lease;
};

struct ClaimFilter {
  // Only tasks of this role or of none; without one, any task.
  std::optional<std::string> role;
};

struct ClaimResult {
  std::optional<Task> task;  // nullopt: nothing is claimable right now
  bool is_retry = false;     // the worker already held this task; its lease was renewed
  bool is_reclaim = false;   // the task's previous owner let its lease expire
  std::string lease;         // with a task: its current lease token
  std::int64_t attempt = 0;  // with a task: which attempt this is (1 for the first)
  // Tasks this claim found with an expired lease that was their last attempt: now failed.
  std::vector<Task> failed_on_expiry;
  // Only without a task: nothing can run any more without an operator, because no task is
  // running and none is ready (every task is completed, failed, or blocked behind a failed
  // one; also when there are no tasks). False while other workers' running tasks may still
  // release work.
  bool plan_complete = false;
};

struct CompleteOptions {
  bool force = false;   // an operator completes a task whatever its state and holder (not a
                        // completed one)
  bool verify = false;  // see Store::complete
};

using VerificationCommands = std::vector<std::vector<std::string>>;

struct FailResult {
  std::int64_t attempt = 0;                  // the attempt that failed
  TaskStatus status = TaskStatus::kPending;  // pending again (after retry_at), or failed
  std::optional<Micros> retry_at;
};

enum class ReplaceMode {
  kAlways,            // update_state: the new tasks replace the old ones unconditionally
  kUnlessUnfinished,  // plan import: refuse while the current workflow has unfinished tasks
};

class Store {
 public:
  virtual ~Store() = default;

  // The whole workflow in plan order, or nullopt when none has been created.
  virtual std::optional<Workflow> load() = 0;
  // Task counts by status, or nullopt when there is no workflow.
  virtual std::optional<StatusCounts> status_counts() = 0;

  // Each write below is atomic: when it throws, it has changed nothing. It is durable when it
  // returns, unless it runs inside a batch (store/batching_store.h), where it is committed with
  // the batch and durable after the next sync().

  // Validates (validate_workflow) and then replaces the workflow's tasks, creating the
  // workflow when there is none. Throws Error::invalid on a bad graph and Error::conflict
  // under kUnlessUnfinished when unfinished tasks exist; nothing changes then.
  virtual void replace_workflow(const Workflow& workflow, ReplaceMode mode) = 0;

  // The claim policy of DESIGN §3 and §2b for `worker_id` at time `now`: renew the task it
  // holds (same lease), else the ready pending task of highest priority, then first in plan
  // order (a failed task's backoff must have passed), else reclaim an expired lease (an
  // attempt counted; a task whose last attempt expired becomes failed instead). Each new
  // holder gets a new lease token. Its cost does not depend on the number of tasks. The task
  // records `worktree`, the worktree the claim came from: a new holder's replaces the last
  // holder's (none: cleared); a renewal keeps the recorded one unless it gives one.
  virtual ClaimResult claim(const std::string& worker_id, Micros now,
                            const ClaimFilter& filter = {},
                            const std::optional<std::string>& worktree = std::nullopt) = 0;

  // The checks every change by a holder makes, in this order: Error::not_found ("Task X not
  // found"); with a lease that is not current, Error::conflict ("Task X: lease superseded ...");
  // Error::conflict ("Task X is already completed", "Task X is not claimed by W").

  // Marks the task completed and returns nullopt. `head_commit`, when given, is remembered as
  // the repository HEAD at this completion, as the worker's completion mark. With
  // `options.verify`, a task that has verification commands is left as it is, after the
  // checks, and its commands are returned: the caller runs them, and completes without
  // `verify` when they pass.
  virtual std::optional<VerificationCommands> complete(
      const std::string& task_id, const Holder& holder, Micros now,
      const std::optional<std::string>& head_commit, const CompleteOptions& options = {}) = 0;
  // Renews the holder's lease from `now`; returns when it expires now.
  virtual Micros heartbeat(const std::string& task_id, const Holder& holder, Micros now) = 0;
  // Back to pending, no attempt counted.
  virtual void release(const std::string& task_id, const Holder& holder) = 0;
  // Counts an attempt; pending again after the task's backoff while attempts remain, else
  // failed. `reason` becomes last_error.
  virtual FailResult fail(const std::string& task_id, const Holder& holder,
                          const std::string& reason, Micros now) = 0;
  // A failed task becomes pending with its attempts reset. Error::conflict when it is not
  // failed.
  virtual void retry(const std::string& task_id) = 0;
  // Renews the lease of every task `worker_id` holds (its commands show it is alive); returns
  // how many.
  virtual std::int64_t renew_leases(const std::string& worker_id, Micros now) = 0;

  // Appends a task to the plan (validated against the live graph: a new id, dependencies
  // that exist). Error::not_found when there is no workflow.
  virtual void add_task(const Task& task) = 0;
  // Removes the workflow: no tasks, no workflow.
  virtual void reset() = 0;

  // The earliest time at which a claim may find work that no write will announce: a lease
  // expiring, or a failed task's backoff ending. nullopt when there is none.
  virtual std::optional<Micros> next_deadline() = 0;

  // The task id and HEAD commit recorded by `worker_id`'s most recent completion that carried
  // one. Marks are per worker (one worker's completion says nothing about another's work in
  // the same worktree) and are dropped when the workflow is replaced (they name its tasks).
  struct CompletionMark {
    std::string task_id;
    std::string commit;
  };
  virtual std::optional<CompletionMark> completion_mark(const std::string& worker_id) = 0;
};

}  // namespace harness
