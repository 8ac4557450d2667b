// The agent hooks as pure decisions over state the caller has read, so each rule is testable
// on its own: the plain verbs (session-start, check-state, check-commit) for scripts, and the
// Claude Code hooks of `harness hook EVENT` (hook_command.h does their I/O).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/workflow.h"
#include "store/store.h"

namespace harness {

struct HookDecision {
  bool allow = true;
  std::string reason;  // why it denies; empty when it allows
};

// SessionStart hook output: {"hookSpecificOutput": {"hookEventName": "SessionStart",
// "additionalContext": "Resuming workflow: task C/T"}} (C completed of T tasks; then ", F
// failed (...)" when tasks failed) while tasks are pending or running, "... Workflow complete: C/T
// tasks completed" (and "F failed") once none is, "... Workflow stuck: ..." when tasks are pending
// but every one waits on a failed task, and "{}" when there is no workflow or it has no tasks.
std::string session_start_output(const std::optional<StatusCounts>& counts);

// Denies while a workflow can still move (a task is running or ready to claim):
// "Workflow in progress (C/T)", with ", F failed (...)" when tasks failed.
HookDecision check_state(const std::optional<StatusCounts>& counts);

// The commit gate. `task complete` records the repository HEAD with each completion, per
// worker; this denies when the worker holds a running task and HEAD is still the commit
// recorded by that worker's most recent completion (`mark`): the work on its current task has
// not been committed yet. It allows
// when the worker holds no task, no completion has recorded a commit, or HEAD is unknown
// (not a git repository, no commits).
HookDecision check_commit(const std::optional<Workflow>& workflow,
                          const std::optional<Store::CompletionMark>& mark,
                          const std::optional<std::string>& head, const std::string& worker_id);

// A Claude Code hook payload (the fields harness reads; others are ignored).
struct HookPayload {
  std::string session_id, transcript_path, cwd, hook_event_name;
  std::string source;             // SessionStart: startup, resume, clear or compact
  bool stop_hook_active = false;  // Stop/SubagentStop: already continuing because of a block
  std::string trigger;            // PreCompact: manual or auto
};

// Parses the JSON object Claude Code writes on a hook's stdin. Throws Error::invalid naming
// the problem when it is not JSON, not an object, or a field has the wrong type.
HookPayload parse_hook_payload(std::string_view text);

// "claude-" and the first 12 characters of `session_id` (characters outside [A-Za-z0-9._-]
// as '_'): the worker id of a Claude Code session. nullopt for an empty session id.
std::optional<std::string> session_worker_id(std::string_view session_id);

// The first running task, in plan order, held by one of `workers`; nullptr when none is.
const Task* held_task(const Workflow& workflow, const std::vector<std::string>& workers);

// What the Stop and SubagentStop hooks decide.
struct StopDecision {
  bool block = false;
  std::string reason;       // for the agent: the task, and the command that completes it
  std::string fingerprint;  // what the agent holds now; the caller keeps it with a block
};

// Blocks while one of `workers` (the ids this session may work under) holds a running task,
// and says in the reason what to do: commit (when `mark`, that worker's completion mark, is
// still HEAD, or `uncommitted` lists changes) and `harness task complete --id T`. It also
// blocks a session that holds nothing while `uncommitted` (git status --porcelain lines of its
// worktree: tracked changes and untracked files git does not ignore) lists changes, unless
// another worker holds a running task: their work may be what is uncommitted, and an agent is
// never kept going because others still work. It does not block again when
// `stop_hook_active` is set and the fingerprint (held task, its lease start, HEAD and the
// changes) equals `last_block`, the one recorded with the previous block: the agent was told
// and nothing changed, so blocking again would only loop.
StopDecision stop_decision(const std::optional<Workflow>& workflow,
                           const std::vector<std::string>& workers,
                           const std::optional<Store::CompletionMark>& mark,
                           const std::optional<std::string>& head, bool stop_hook_active,
                           const std::optional<std::string>& last_block,
                           const std::vector<std::string>& uncommitted = {});

// The task an agent held when its context was compacted (kept across a PreCompact hook).
struct Assignment {
  std::string task_id;
  std::string description;
};

// The assignment card of `held` for an agent whose shell works as `shell_worker`: task id,
// description, instructions, success criteria, files in scope, the lease time left at `now`,
// and the exact commands (CLI and MCP tool) that heartbeat, complete, fail or release it.
std::string assignment_card(const Task& held, const std::string& shell_worker, Micros now);

// The SessionStart hook's additionalContext: the worker id, the held task (id, description,
// instructions, how to complete it) or how to claim one, the plan's progress, and, after a
// compaction, the task held before it when that changed. With `card_at` (a compaction or a
// resume: the agent has lost or may have lost its assignment), the held task is given as its
// whole assignment card (assignment_card at that time). Empty without a workflow or tasks.
std::string session_context(const Workflow& workflow, const std::string& worker,
                            const std::vector<std::string>& workers,
                            const std::optional<Assignment>& before_compaction,
                            std::optional<Micros> card_at = std::nullopt);

// {"hookSpecificOutput": {"hookEventName": "SessionStart", "additionalContext": context}},
// or {} for an empty context.
std::string session_start_json(const std::string& context);

}  // namespace harness
