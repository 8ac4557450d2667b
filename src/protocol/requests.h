// The requests of the wire protocol (docs/protocol.md), one struct per command, each read from
// and written to the JSON object of its request line. `from_json` throws Error::invalid naming
// the problem ("missing field 'worker_id'", "field 'args' must be a non-empty list of
// strings"); a NUL byte in a string the operating system gets (exec/git `args`, `cwd`, `env`
// names and values, plan_import `file`) is refused: "field 'args' must not contain a NUL
// byte". `to_json` writes every field but "command", which the command table adds.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/task.h"

namespace harness {

// Commands without fields.
struct EmptyRequest {
  static Json to_json() { return Json::object(); }
  bool operator==(const EmptyRequest&) const = default;
};
struct PingRequest : EmptyRequest {
  static PingRequest from_json(const Json&) { return {}; }
};
struct GetStateRequest : EmptyRequest {
  static GetStateRequest from_json(const Json&) { return {}; }
};
struct StatusRequest : EmptyRequest {
  static StatusRequest from_json(const Json&) { return {}; }
};
struct ShutdownRequest : EmptyRequest {
  static ShutdownRequest from_json(const Json&) { return {}; }
};

struct UpdateStateRequest {
  Workflow workflow;  // from updates.tasks
  static UpdateStateRequest from_json(const Json& request);
  Json to_json() const;
  bool operator==(const UpdateStateRequest&) const = default;
};

// Replaces the workflow from inline tasks or from a plan file the daemon reads itself (so a
// large plan is not bound by the request size limit). Without `force` it refuses to replace a
// workflow that still has unfinished tasks. `format` and `parallel` go with `file` only: the
// plan format's name (detected when absent; the daemon checks the name), markdown's
// "no implicit chain" and taskmaster's tag.
struct PlanImportRequest {
  std::optional<Workflow> workflow;
  std::optional<std::string> file;  // absolute path
  bool force = false;
  std::optional<std::string> format;
  bool parallel = false;
  std::optional<std::string> tag;  // taskmaster: the tag whose tasks to read
  static PlanImportRequest from_json(const Json& request);
  Json to_json() const;
  bool operator==(const PlanImportRequest&) const = default;
};

// The longest `wait` a claim may give, in seconds: a day.
inline constexpr double kMaxClaimWaitSeconds = 86'400;

struct ClaimRequest {
  std::string worker_id;
  // Block until a task is ready for this worker, the plan is complete, or this passes.
  std::optional<std::chrono::milliseconds> wait;
  std::optional<std::string> role;  // only tasks of this role or of none
  // The worktree the claim comes from (the CLI sends its checkout): kept with the task.
  std::optional<std::string> worktree;
  static ClaimRequest from_json(const Json& request);
  Json to_json() const;
  bool operator==(const ClaimRequest&) const = default;
};

// The fields of a change a holder makes to its task: the lease token, when the client has one,
// fences off a holder whose lease passed to someone else (Store's Holder).
struct HolderFields {
  std::string task_id;
  std::string worker_id;
  std::optional<std::string> lease;
  bool operator==(const HolderFields&) const = default;
};

struct CompleteRequest : HolderFields {
  std::optional<std::string> commit;    // HEAD when the worker completed; see check-commit
  bool force = false;                   // an operator completes a task it does not hold (logged)
  bool next = false;                    // and claims the next task in the same round trip
  bool verify = true;                   // false: skip the task's verification_commands (logged)
  std::optional<std::string> cwd;       // where verification commands run (default: the worktree)
  std::optional<std::string> role;      // of the next claim
  std::optional<std::string> worktree;  // of the next claim (ClaimRequest::worktree)
  static CompleteRequest from_json(const Json& request);
  Json to_json() const;
  bool operator==(const CompleteRequest&) const = default;
};

struct HeartbeatRequest : HolderFields {
  static HeartbeatRequest from_json(const Json& request);
  Json to_json() const;
  bool operator==(const HeartbeatRequest&) const = default;
};

struct ReleaseRequest : HolderFields {
  std::optional<std::string> reason;
  static ReleaseRequest from_json(const Json& request);
  Json to_json() const;
  bool operator==(const ReleaseRequest&) const = default;
};

struct FailRequest : HolderFields {
  std::string reason;
  static FailRequest from_json(const Json& request);
  Json to_json() const;
  bool operator==(const FailRequest&) const = default;
};

// Commands about one task by id: task_retry, task_show.
struct TaskIdRequest {
  std::string task_id;
  Json to_json() const { return Json{{"task_id", task_id}}; }
  bool operator==(const TaskIdRequest&) const = default;
};
struct RetryRequest : TaskIdRequest {
  static RetryRequest from_json(const Json& request);
};
struct ShowRequest : TaskIdRequest {
  static ShowRequest from_json(const Json& request);
};

struct ListRequest {
  std::optional<TaskStatus> status;
  static ListRequest from_json(const Json& request);
  Json to_json() const;
  bool operator==(const ListRequest&) const = default;
};

struct AddRequest {
  Task task;
  static AddRequest from_json(const Json& request);
  Json to_json() const;
  bool operator==(const AddRequest&) const = default;
};

struct PlanResetRequest : EmptyRequest {
  static PlanResetRequest from_json(const Json&) { return {}; }
};

// The longest `timeout` an exec or git request may give, in seconds.
inline constexpr double kMaxCommandTimeoutSeconds = 1e9;
// A `timeout` of `seconds` (above 0, at most kMaxCommandTimeoutSeconds), rounded up to whole
// milliseconds.
std::chrono::milliseconds command_timeout(double seconds);

// exec and git share this shape; git ignores `exclusive` (it always holds the git mutex).
struct CommandRequest {
  std::vector<std::string> args;
  std::optional<std::string> cwd;
  std::map<std::string, std::string> env;
  // `env` is the command's whole environment, not a change to the daemon's.
  bool env_complete = false;
  std::optional<std::chrono::milliseconds> timeout;
  bool exclusive = false;
  // The reply carries stdout and stderr base64-encoded, byte for byte.
  bool base64_output = false;
  // The worker that runs it: the lease of a task it holds is renewed (it is alive).
  std::optional<std::string> worker_id;
  static CommandRequest from_json(const Json& request);
  Json to_json() const;
  bool operator==(const CommandRequest&) const = default;
};

struct ExecRequest : CommandRequest {
  static ExecRequest from_json(const Json& request) { return {CommandRequest::from_json(request)}; }
};
struct GitRequest : CommandRequest {
  static GitRequest from_json(const Json& request) { return {CommandRequest::from_json(request)}; }
};

}  // namespace harness
