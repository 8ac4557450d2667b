// The agent hooks (session-start, check-state, check-commit) as pure decisions over state the
// caller has read, so each rule is testable on its own.
#pragma once

#include <optional>
#include <string>

#include "core/workflow.h"
#include "store/store.h"

namespace harness {

struct HookDecision {
  bool allow = true;
  std::string reason;  // why it denies; empty when it allows
};

// SessionStart hook output: {"hookSpecificOutput": {"hookEventName": "SessionStart",
// "additionalContext": "Resuming workflow: task C/T"}} (C completed of T tasks) when a workflow
// exists, "{}" otherwise.
std::string session_start_output(const std::optional<StatusCounts>& counts);

// Denies while a workflow has unfinished (pending or running) tasks:
// "Workflow in progress (C/T)".
HookDecision check_state(const std::optional<StatusCounts>& counts);

// The commit gate. `task complete` records the repository HEAD with each completion; this
// denies when the worker holds a running task and HEAD is still the commit recorded by the
// most recent completion: the work on the current task has not been committed yet. It allows
// when the worker holds no task, no completion has recorded a commit, or HEAD is unknown
// (not a git repository, no commits).
HookDecision check_commit(const std::optional<Workflow>& workflow,
                          const std::optional<Store::CompletionMark>& mark,
                          const std::optional<std::string>& head, const std::string& worker_id);

}  // namespace harness
