// The task model (docs/protocol.md, "Task") and its JSON form on the wire and in legacy state
// files.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/json.h"

namespace harness {

enum class TaskStatus { kPending, kRunning, kCompleted, kFailed };

std::string_view to_string(TaskStatus status);
// Throws Error::invalid for anything but "pending", "running", "completed", "failed".
TaskStatus parse_task_status(std::string_view text);

constexpr std::int64_t kDefaultTimeoutSeconds = 600;
// About 31 years: far beyond any real lease, and small enough that a lease's expiry in
// microseconds never overflows.
constexpr std::int64_t kMaxTimeoutSeconds = 1'000'000'000;

struct Task {
  std::string id;
  std::string description;
  TaskStatus status = TaskStatus::kPending;
  std::vector<std::string> dependencies;
  std::optional<Micros> started_at;
  std::optional<Micros> completed_at;
  std::optional<std::string> claimed_by;
  std::int64_t timeout_seconds = kDefaultTimeoutSeconds;
  std::optional<std::string> instructions;          // free text for an agent
  std::optional<std::vector<std::string>> command;  // argv a scripted worker runs via exec

  bool operator==(const Task&) const = default;
};

// A workflow is its tasks in plan order.
struct Workflow {
  std::vector<Task> tasks;

  bool operator==(const Workflow&) const = default;
};

// {"id", "description", "status", "dependencies", "started_at", "completed_at", "claimed_by",
// "timeout_seconds"} always (absent times and owner as null), plus "instructions" and "command"
// when set.
Json task_to_json(const Task& task);
// Appends the text of task_to_json(task).dump() (invalid UTF-8 replaced, as replies are dumped)
// to `out`, without building the JSON value: a claim reply carries a whole task.
void append_task_json(std::string& out, const Task& task);
// {"tasks": {id: Task, ...}} in plan order.
Json workflow_to_json(const Workflow& workflow);

// Reads one task. `key` is the id it was listed under in a map (empty for a list entry); the
// object's own "id" may be omitted then, but must match when given. Only "id" (or the key) is
// required; every other field has a default. Unknown fields are ignored (forward
// compatibility with the Python original's files). Throws Error::invalid naming the task and
// field, e.g. "task 'a': 'dependencies' must be a list of strings".
Task task_from_json(const Json& value, std::string_view key = {});

// Accepts {"tasks": {...}} or {"tasks": [...]}, or directly a map or a list of tasks. Does not
// validate the graph (see validate_workflow). Throws Error::invalid.
Workflow workflow_from_json(const Json& value);

}  // namespace harness
