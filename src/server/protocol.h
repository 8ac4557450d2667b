// The wire protocol (DESIGN §2, docs/protocol.md): one JSON object per line each way.
// parse_request turns a request line into a typed request, or throws Error::invalid with a
// message that names the problem; the reply helpers build the two envelope shapes.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/json.h"
#include "core/task.h"

namespace harness {

struct PingRequest {
  bool operator==(const PingRequest&) const = default;
};
struct GetStateRequest {
  bool operator==(const GetStateRequest&) const = default;
};
struct StatusRequest {
  bool operator==(const StatusRequest&) const = default;
};
struct ShutdownRequest {
  bool operator==(const ShutdownRequest&) const = default;
};

struct UpdateStateRequest {
  Workflow workflow;  // from updates.tasks
  bool operator==(const UpdateStateRequest&) const = default;
};

// Replaces the workflow from inline tasks or from a plan file the daemon reads itself (so a
// large plan is not bound by the request size limit). Without `force` it refuses to replace a
// workflow that still has unfinished tasks.
struct PlanImportRequest {
  std::optional<Workflow> workflow;
  std::optional<std::string> file;  // absolute path
  bool force = false;
  bool operator==(const PlanImportRequest&) const = default;
};

struct ClaimRequest {
  std::string worker_id;
  bool operator==(const ClaimRequest&) const = default;
};

struct CompleteRequest {
  std::string task_id;
  std::string worker_id;
  std::optional<std::string> commit;  // HEAD when the worker completed; see check-commit
  bool operator==(const CompleteRequest&) const = default;
};

// The longest `timeout` an exec or git request may give, in seconds.
inline constexpr double kMaxCommandTimeoutSeconds = 1e9;

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
  bool operator==(const CommandRequest&) const = default;
};

struct ExecRequest : CommandRequest {};
struct GitRequest : CommandRequest {};

using Request =
    std::variant<PingRequest, GetStateRequest, StatusRequest, UpdateStateRequest, PlanImportRequest,
                 ClaimRequest, CompleteRequest, ExecRequest, GitRequest, ShutdownRequest>;

// The command name of a request ("task_claim", ...), for logs.
std::string_view command_name(const Request& request);

// Parses one request line (without its newline). Throws Error::invalid, e.g.
// "invalid JSON at byte 3: ...", "request must be a JSON object", "unknown command 'x'",
// "missing field 'worker_id'", "field 'args' must be a non-empty list of strings". A NUL byte in
// a string the operating system gets (exec/git `args`, `cwd`, `env` names and values,
// plan_import `file`) is refused: "field 'args' must not contain a NUL byte".
Request parse_request(std::string_view line);
// The same through the full JSON parser alone, which parse_request uses for every line the hot
// path (flat_request.h) does not take: the oracle that hot path is tested against.
Request parse_request_fully(std::string_view line);

// {"status":"ok","data":<data>} and {"status":"error","message":<message>}, without newline.
std::string ok_reply(const Json& data);
// As ok_reply, for data that is already serialised JSON (large workflows are written once).
std::string ok_reply_serialized(std::string_view data_json);
// The envelope ok_reply_serialized puts around the data, for a builder that writes the data in
// place (command_reply.h): kOkReplyHead + data + kOkReplyTail.
inline constexpr std::string_view kOkReplyHead = R"({"status":"ok","data":)";
inline constexpr std::string_view kOkReplyTail = "}";
std::string error_reply(std::string_view message);

}  // namespace harness
