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
// plan format's name (detected when absent; the daemon checks the name) and markdown's
// "no implicit chain".
struct PlanImportRequest {
  std::optional<Workflow> workflow;
  std::optional<std::string> file;  // absolute path
  bool force = false;
  std::optional<std::string> format;
  bool parallel = false;
  static PlanImportRequest from_json(const Json& request);
  Json to_json() const;
  bool operator==(const PlanImportRequest&) const = default;
};

struct ClaimRequest {
  std::string worker_id;
  static ClaimRequest from_json(const Json& request);
  Json to_json() const;
  bool operator==(const ClaimRequest&) const = default;
};

struct CompleteRequest {
  std::string task_id;
  std::string worker_id;
  std::optional<std::string> commit;  // HEAD when the worker completed; see check-commit
  static CompleteRequest from_json(const Json& request);
  Json to_json() const;
  bool operator==(const CompleteRequest&) const = default;
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
