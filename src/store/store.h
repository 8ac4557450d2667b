// The storage interface (DESIGN §4): the workflow's operations, in the domain's terms. Every
// read and write of workflow state goes through a Store, so that a second engine (PostgreSQL
// with SELECT ... FOR UPDATE SKIP LOCKED, for workers on several machines) can implement it
// later. Group commit is a capability of its own (store/batching_store.h); an engine opens
// through open_store (store/open_store.h). A Store object is used by one thread at a time.
// Everything a Store throws is a harness::Error (core/error.h): besides each operation's own,
// Error::io when the storage fails and Error::corruption when what it holds cannot be read back.
#pragma once

#include <optional>
#include <string>

#include "core/task.h"
#include "core/workflow.h"

namespace harness {

struct ClaimResult {
  std::optional<Task> task;  // nullopt: nothing is claimable right now
  bool is_retry = false;     // the worker already held this task; its lease was renewed
  bool is_reclaim = false;   // the task's previous owner let its lease expire
  // Only without a task: nothing can run any more without an operator, because no task is
  // running and none is ready (every task is completed, failed, or blocked behind a failed
  // one; also when there are no tasks). False while other workers' running tasks may still
  // release work.
  bool plan_complete = false;
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

  // The claim policy of DESIGN §3 for `worker_id` at time `now`: renew the task it holds,
  // else the first ready pending task in plan order, else reclaim an expired lease.
  // Its cost does not depend on the number of tasks.
  virtual ClaimResult claim(const std::string& worker_id, Micros now) = 0;

  // Marks the task completed. Throws Error::not_found ("Task X not found") and
  // Error::conflict ("Task X is not claimed by W", "Task X is already completed").
  // `head_commit`, when given, is remembered as the repository HEAD at this completion, as
  // `worker_id`'s completion mark.
  virtual void complete(const std::string& task_id, const std::string& worker_id, Micros now,
                        const std::optional<std::string>& head_commit) = 0;

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
