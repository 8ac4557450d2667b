// The responses of the wire protocol (docs/protocol.md): the `data` of an ok reply, one struct
// per command. The daemon's front ends (the socket; later MCP or HTTP) get these structs, not
// JSON; `to_json` writes the wire form and `from_json` reads it back for a client, throwing
// Error::io when the data is not what the command answers (a daemon of another version).
// reply_encoder.h writes the replies on the hot path straight into the reply line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/task.h"

namespace harness {

// {"running": true, "pid": N, "worktree": PATH}
struct PingResponse {
  std::int64_t pid = 0;
  std::string worktree;
  // Where the daemon keeps its plan (StoreLocation::describe); absent from older daemons.
  std::optional<std::string> store;
  Json to_json() const;
  static PingResponse from_json(const Json& data);
  bool operator==(const PingResponse&) const = default;
};

// The workflow (workflow_to_json), or null when there is none.
struct GetStateResponse {
  std::optional<Workflow> workflow;
  Json to_json() const;
  static GetStateResponse from_json(const Json& data);
  bool operator==(const GetStateResponse&) const = default;
};

// {"pending","running","completed","failed","total", "commits": {"batches","mutations","syncs"},
//  "commands": {"running","queued","max"}, "waiting_claims"}, or null when there is no workflow.
struct StatusResponse {
  struct Tasks {
    std::int64_t pending = 0, running = 0, completed = 0, failed = 0, total = 0;
    bool operator==(const Tasks&) const = default;
  };
  struct Commits {
    std::uint64_t batches = 0, mutations = 0, syncs = 0;
    bool operator==(const Commits&) const = default;
  };
  struct Commands {
    std::uint64_t running = 0, queued = 0, max = 0;
    bool operator==(const Commands&) const = default;
  };
  std::optional<Tasks> tasks;  // nullopt: no workflow (and then nothing else is sent)
  Commits commits;
  Commands commands;
  std::uint64_t waiting_claims = 0;  // claims parked until work is ready (task_claim `wait`)
  Json to_json() const;
  static StatusResponse from_json(const Json& data);
  bool operator==(const StatusResponse&) const = default;
};

// The workflow as stored (workflow_to_json).
struct UpdateStateResponse {
  Workflow workflow;
  Json to_json() const;
  static UpdateStateResponse from_json(const Json& data);
  bool operator==(const UpdateStateResponse&) const = default;
};

// {"imported": N}
struct PlanImportResponse {
  std::size_t imported = 0;
  Json to_json() const;
  static PlanImportResponse from_json(const Json& data);
  bool operator==(const PlanImportResponse&) const = default;
};

// {"task": TASK or null, "is_retry", "is_reclaim", "plan_complete"}, and with a task its
// "lease", "attempt" and "lease_expires_at": see Store::claim.
struct ClaimResponse {
  std::optional<Task> task;
  bool is_retry = false;
  bool is_reclaim = false;
  bool plan_complete = false;
  std::string lease;
  std::int64_t attempt = 0;
  Json to_json() const;
  static ClaimResponse from_json(const Json& data);
  bool operator==(const ClaimResponse&) const = default;
};

// {"task_id": ID}, and "next" (a claim's data) when the request asked for it.
struct CompleteResponse {
  std::string task_id;
  std::optional<ClaimResponse> next;
  Json to_json() const;
  static CompleteResponse from_json(const Json& data);
  bool operator==(const CompleteResponse&) const = default;
};

// {"task_id", "lease_expires_at"}
struct HeartbeatResponse {
  std::string task_id;
  Micros lease_expires_at = 0;
  Json to_json() const;
  static HeartbeatResponse from_json(const Json& data);
  bool operator==(const HeartbeatResponse&) const = default;
};

// {"task_id": ID}: task_release, task_retry, task_add.
struct TaskIdResponse {
  std::string task_id;
  Json to_json() const { return Json{{"task_id", task_id}}; }
  bool operator==(const TaskIdResponse&) const = default;
};
struct ReleaseResponse : TaskIdResponse {
  static ReleaseResponse from_json(const Json& data);
};
struct RetryResponse : TaskIdResponse {
  static RetryResponse from_json(const Json& data);
};
struct AddResponse : TaskIdResponse {
  static AddResponse from_json(const Json& data);
};

// {"task_id", "attempt", "status", "retry_at"?}
struct FailResponse {
  std::string task_id;
  std::int64_t attempt = 0;
  TaskStatus status = TaskStatus::kPending;
  std::optional<Micros> retry_at;
  Json to_json() const;
  static FailResponse from_json(const Json& data);
  bool operator==(const FailResponse&) const = default;
};

// The task with "attempts", "last_error", "lease_expires_at" (null when absent) and
// "blocked_by": the failed tasks it waits on, directly or through others.
struct ShowResponse {
  Task task;
  std::vector<std::string> blocked_by;
  Json to_json() const;
  static ShowResponse from_json(const Json& data);
  bool operator==(const ShowResponse&) const = default;
};

// {"tasks": [TASK, ...]} in plan order, each with "blocked_by" when it is blocked.
struct ListResponse {
  std::vector<ShowResponse> tasks;
  Json to_json() const;
  static ListResponse from_json(const Json& data);
  bool operator==(const ListResponse&) const = default;
};

// {"reset": true}
struct PlanResetResponse {
  static Json to_json() { return Json{{"reset", true}}; }
  static PlanResetResponse from_json(const Json&) { return {}; }
  bool operator==(const PlanResetResponse&) const = default;
};

// How an exec or git command ended: {"returncode", "stdout", "stderr", ["signal_name"],
// "duration_ms", "timed_out", "truncated"[, "encoding": "base64"]}. The streams are raw bytes
// here; on the wire they are JSON text (cut to fit, invalid UTF-8 replaced) or, with `base64`,
// base64 of every byte (reply_encoder.h). `truncated`: a stream was cut at capture or in the
// reply.
struct CommandResponse {
  int returncode = 0;
  std::string stdout_bytes;
  std::string stderr_bytes;
  std::optional<std::string> signal_name;
  std::int64_t duration_ms = 0;
  bool timed_out = false;
  bool truncated = false;
  bool base64 = false;
  // The wire form of short output; reply_encoder.h's encoding is the one that caps the streams.
  Json to_json() const;
  static CommandResponse from_json(const Json& data);
  bool operator==(const CommandResponse&) const = default;
};
struct ExecResponse : CommandResponse {
  static ExecResponse from_json(const Json& data) { return {CommandResponse::from_json(data)}; }
};
struct GitResponse : CommandResponse {
  static GitResponse from_json(const Json& data) { return {CommandResponse::from_json(data)}; }
};

// {"shutdown": true}
struct ShutdownResponse {
  static Json to_json() { return Json{{"shutdown", true}}; }
  static ShutdownResponse from_json(const Json&) { return {}; }
  bool operator==(const ShutdownResponse&) const = default;
};

}  // namespace harness
