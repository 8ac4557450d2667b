// The task model (docs/protocol.md, "Task") and its JSON form on the wire and in legacy state
// files.
#pragma once

#include <cstdint>
#include <memory>
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
constexpr std::int64_t kDefaultMaxAttempts = 3;
constexpr std::int64_t kDefaultRetryBackoffSeconds = 5;
// The longest wait before a failed task may be claimed again, however many attempts failed.
constexpr std::int64_t kMaxRetryBackoffSeconds = 600;

// What a plan says about a task for the agent that takes it (DESIGN §2b): kept as given and
// returned on claim. None of it changes how the task is scheduled.
struct TaskPacket {
  std::optional<std::string> model, input_context, output_contract, constraints, success_criteria;
  std::optional<std::vector<std::string>> files_in_scope, files_out_of_scope, tools,
      artifacts_to_read, artifacts_to_write;
  // Commands `task complete` runs before it completes the task, each an argv (never run by a
  // shell; a string in a plan is split like shell words, without expansion).
  std::optional<std::vector<std::vector<std::string>>> verification_commands;

  bool empty() const { return *this == TaskPacket{}; }
  bool operator==(const TaskPacket&) const = default;
};

// A task's packet, kept on the heap and only when it has one: most tasks have none, and a plan
// of 100,000 tasks is held in memory whole on import. Reads of an absent packet see an empty
// one; a write through -> or * creates it. Copies are deep, as of a plain member.
class TaskPacketBox {
 public:
  TaskPacketBox() = default;
  TaskPacketBox(const TaskPacket& packet) { *this = packet; }
  TaskPacketBox(const TaskPacketBox& other) { *this = other; }
  TaskPacketBox(TaskPacketBox&&) noexcept = default;
  TaskPacketBox& operator=(const TaskPacketBox& other) {
    packet_ = other.packet_ ? std::make_unique<TaskPacket>(*other.packet_) : nullptr;
    return *this;
  }
  TaskPacketBox& operator=(TaskPacketBox&&) noexcept = default;
  TaskPacketBox& operator=(const TaskPacket& packet) {
    packet_ = packet.empty() ? nullptr : std::make_unique<TaskPacket>(packet);
    return *this;
  }

  const TaskPacket& operator*() const { return packet_ ? *packet_ : empty_packet(); }
  const TaskPacket* operator->() const { return &**this; }
  TaskPacket& operator*() {
    if (!packet_) packet_ = std::make_unique<TaskPacket>();
    return *packet_;
  }
  TaskPacket* operator->() { return &**this; }
  bool empty() const { return !packet_ || packet_->empty(); }
  bool operator==(const TaskPacketBox& other) const { return **this == *other; }

 private:
  static const TaskPacket& empty_packet() {
    static const TaskPacket none;
    return none;
  }
  std::unique_ptr<TaskPacket> packet_;
};

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

  // Scheduling (DESIGN §2b). A claim takes the highest priority first, then plan order; a
  // worker that asks for a role takes only tasks of that role or of none.
  std::int64_t priority = 0;
  std::optional<std::string> role;
  std::int64_t max_attempts = kDefaultMaxAttempts;
  // The wait before attempt n+1 is this × 2^(n−1) seconds, at most kMaxRetryBackoffSeconds.
  std::int64_t retry_backoff_seconds = kDefaultRetryBackoffSeconds;

  // The lease's state. `attempts` counts attempts that ended without completion (a failure or
  // an expired lease; a release does not count).
  std::int64_t attempts = 0;
  std::optional<std::string> last_error;
  std::optional<Micros> lease_expires_at;  // while running: claim or last heartbeat + timeout
  std::optional<Micros> retry_at;          // while pending after a failure: not claimable before
  // The worktree its holder claimed it from (`harness worktree`): kept with the holder, so
  // cleared when the task is pending again.
  std::optional<std::string> worktree;

  TaskPacketBox packet;

  bool operator==(const Task&) const = default;
};

// The wait after the `attempts`-th failed attempt of `task`, in seconds (at least 1 attempt).
std::int64_t retry_backoff_after(const Task& task, std::int64_t attempts);

// A workflow is its tasks in plan order, and what the plan says it is for.
struct Workflow {
  std::vector<Task> tasks;
  std::optional<std::string> goal;

  bool operator==(const Workflow&) const = default;
};

// {"id", "description", "status", "dependencies", "started_at", "completed_at", "claimed_by",
// "timeout_seconds"} always (absent times and owner as null); every other field only when it is
// set and not its default, so that a plain task reads as it did before those fields existed.
Json task_to_json(const Task& task);
// Appends the text of task_to_json(task).dump() (invalid UTF-8 replaced, as replies are dumped)
// to `out`, without building the JSON value: a claim reply carries a whole task.
void append_task_json(std::string& out, const Task& task);
// The packet's fields as task_to_json writes them, and back (Error::invalid naming `task_id`).
Json packet_to_json(const TaskPacket& packet);
TaskPacket packet_from_json(const Json& value, std::string_view task_id);

// {"tasks": {id: Task, ...}} in plan order, and "goal" when there is one.
Json workflow_to_json(const Workflow& workflow);

// Reads one task. `key` is the id it was listed under in a map (empty for a list entry); the
// object's own "id" may be omitted then, but must match when given. Only "id" (or the key) is
// required; every other field has a default. Unknown fields are ignored (forward
// compatibility with the Python original's files). Throws Error::invalid naming the task and
// field, e.g. "task 'a': 'dependencies' must be a list of strings".
Task task_from_json(const Json& value, std::string_view key = {});

// Splits `command` like a POSIX shell splits words (quotes and backslashes), without any
// expansion. Throws Error::invalid on unbalanced quotes or an empty command.
std::vector<std::string> split_shell_words(const std::string& command);

// Accepts {"tasks": {...}, "goal"?} or {"tasks": [...]}, or directly a map or a list of tasks. Does
// not validate the graph (see validate_workflow). Throws Error::invalid.
Workflow workflow_from_json(const Json& value);

}  // namespace harness
