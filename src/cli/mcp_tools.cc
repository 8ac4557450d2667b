#include "cli/mcp_tools.h"

#include <algorithm>
#include <array>
#include <initializer_list>

#include "cli/client.h"
#include "core/error.h"
#include "protocol/commands.h"
#include "protocol/envelope.h"
#include "protocol/request_codec.h"

namespace harness {

namespace {

// The longest `wait` a claim may ask for: MCP clients give up on a request after a minute by
// default (the TypeScript SDK's timeout), and a claim that outlives its client is wasted.
constexpr double kMaxToolWaitSeconds = 50;

std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

// A tool's arguments, checked against the names and types its schema gives.
class Args {
 public:
  Args(const Json& arguments, std::initializer_list<std::string_view> known) : j_(arguments) {
    if (j_.is_null()) j_ = Json::object();
    if (!j_.is_object()) throw McpArgumentError("arguments must be an object");
    for (const auto& [key, value] : j_.items())
      if (std::find(known.begin(), known.end(), key) == known.end())
        throw McpArgumentError("unknown argument '" + key + "'");
  }

  std::optional<std::string> text(const char* name) const {
    const Json* v = find(name);
    if (v == nullptr) return std::nullopt;
    if (!v->is_string() || v->get<std::string>().empty())
      throw McpArgumentError(std::string("'") + name + "' must be a non-empty string");
    return v->get<std::string>();
  }
  std::string required_text(const char* name) const {
    auto v = text(name);
    if (!v) throw McpArgumentError(std::string("missing argument '") + name + "'");
    return *v;
  }
  bool flag(const char* name) const {
    const Json* v = find(name);
    if (v == nullptr) return false;
    if (!v->is_boolean()) throw McpArgumentError(std::string("'") + name + "' must be a boolean");
    return v->get<bool>();
  }
  std::optional<double> number(const char* name, double max) const {
    const Json* v = find(name);
    if (v == nullptr) return std::nullopt;
    if (!v->is_number() || v->get<double>() < 0 || v->get<double>() > max)
      throw McpArgumentError(std::string("'") + name + "' must be a number from 0 to " +
                             std::to_string(static_cast<int>(max)));
    return v->get<double>();
  }
  const Json& json() const { return j_; }

 private:
  const Json* find(const char* name) const {
    auto it = j_.find(name);
    return it == j_.end() || it->is_null() ? nullptr : &*it;
  }
  Json j_;
};

template <typename R>
AnswerTo<R> ask(McpToolContext& ctx, const R& request) {
  const ReplyEnvelope reply = parse_reply(ctx.daemon(encode_request(request)));
  if (!reply.ok) return ErrorAnswer{reply.message};
  return CommandFor<R>::Response::from_json(reply.data);
}

McpToolResult error_result(std::string message) { return {Json(nullptr), std::move(message)}; }

// The answer as a result: the response's JSON (through `shape`), or the daemon's refusal.
template <typename Response, typename Shape>
McpToolResult result_of(const std::variant<ErrorAnswer, Response>& answer, Shape shape) {
  if (const auto* e = std::get_if<ErrorAnswer>(&answer)) return error_result(e->message);
  return {shape(std::get<Response>(answer)), ""};
}

template <typename Response>
McpToolResult result_of(const std::variant<ErrorAnswer, Response>& answer) {
  return result_of(answer, [](const Response& r) { return Json(r.to_json()); });
}

// A claim as the agent sees it: the lease token stays with the server.
Json claim_json(const ClaimResponse& claim) {
  Json j = claim.to_json();
  j.erase("lease");
  return j;
}

void keep(McpToolContext& ctx, const ClaimResponse& claim) {
  if (!claim.task) return;
  ctx.held = claim.task->id;
  if (!claim.lease.empty()) ctx.leases->remember(ctx.worker_id, claim.task->id, claim.lease);
}

void let_go(McpToolContext& ctx, const std::string& task_id) {
  ctx.leases->forget(ctx.worker_id, task_id);
  if (ctx.held == task_id) ctx.held.reset();
}

// The holder fields for task `task_id` (default: the one this session holds).
std::optional<HolderFields> holder(McpToolContext& ctx, const Args& args) {
  const std::optional<std::string> id = args.text("task_id");
  if (!id && !ctx.held) return std::nullopt;
  HolderFields h;
  h.task_id = id ? *id : *ctx.held;
  h.worker_id = ctx.worker_id;
  h.lease = ctx.leases->lease_of(h.worker_id, h.task_id);
  return h;
}

McpToolResult nothing_held(const McpToolContext& ctx) {
  return error_result("worker " + ctx.worker_id +
                      " holds no task from this session: call claim first, or name task_id");
}

McpToolResult claim(McpToolContext& ctx, const Json& arguments) {
  const Args args(arguments, {"role", "wait"});
  ClaimRequest request;
  request.worker_id = ctx.worker_id;
  request.role = args.text("role");
  if (auto seconds = args.number("wait", kMaxToolWaitSeconds); seconds && *seconds > 0)
    request.wait = command_timeout(*seconds);
  const auto answer = ask(ctx, request);
  if (const auto* c = std::get_if<ClaimResponse>(&answer)) keep(ctx, *c);
  return result_of(answer, claim_json);
}

McpToolResult complete(McpToolContext& ctx, const Json& arguments) {
  const Args args(arguments, {"task_id", "next"});
  const auto h = holder(ctx, args);
  if (!h) return nothing_held(ctx);
  CompleteRequest request{*h};
  request.next = args.flag("next");
  request.commit = ctx.head();
  request.cwd = ctx.cwd;
  const auto answer = ask(ctx, request);
  const auto* done = std::get_if<CompleteResponse>(&answer);
  if (done == nullptr) return result_of(answer);
  let_go(ctx, request.task_id);
  Json j{{"task_id", done->task_id}};
  if (done->next) {
    keep(ctx, *done->next);
    j["next"] = claim_json(*done->next);
  }
  return {j, ""};
}

// fail and release: the session no longer holds the task once the daemon agreed.
template <typename Request>
McpToolResult give_up(McpToolContext& ctx, const Args& args,
                      const decltype(Request::reason)& reason) {
  const auto h = holder(ctx, args);
  if (!h) return nothing_held(ctx);
  const auto answer = ask(ctx, Request{*h, reason});
  if (std::holds_alternative<typename CommandFor<Request>::Response>(answer))
    let_go(ctx, h->task_id);
  return result_of(answer);
}

McpToolResult fail(McpToolContext& ctx, const Json& arguments) {
  const Args args(arguments, {"task_id", "reason"});
  return give_up<FailRequest>(ctx, args, args.required_text("reason"));
}

McpToolResult release(McpToolContext& ctx, const Json& arguments) {
  const Args args(arguments, {"task_id", "reason"});
  return give_up<ReleaseRequest>(ctx, args, args.text("reason"));
}

McpToolResult heartbeat(McpToolContext& ctx, const Json& arguments) {
  const Args args(arguments, {"task_id"});
  const auto h = holder(ctx, args);
  if (!h) return nothing_held(ctx);
  return result_of(ask(ctx, HeartbeatRequest{*h}));
}

McpToolResult status(McpToolContext& ctx, const Json& arguments) {
  const Args args(arguments, {});
  return result_of(ask(ctx, StatusRequest{}), [&](const StatusResponse& s) {
    Json j = s.tasks ? s.to_json() : Json{{"total", 0}};
    j["worker_id"] = ctx.worker_id;
    j["held"] = ctx.held ? Json(*ctx.held) : Json(nullptr);
    return j;
  });
}

McpToolResult show(McpToolContext& ctx, const Json& arguments) {
  const Args args(arguments, {"task_id"});
  ShowRequest request;
  request.task_id = args.required_text("task_id");
  return result_of(ask(ctx, request));
}

McpToolResult add(McpToolContext& ctx, const Json& arguments) {
  const Args args(arguments, {"id", "description", "dependencies", "instructions", "priority",
                              "role", "timeout_seconds"});
  args.required_text("id");
  args.required_text("description");
  AddRequest request;
  try {
    request.task = task_from_json(args.json());
  } catch (const Error& e) {
    throw McpArgumentError(e.what());
  }
  auto answer = ask(ctx, request);
  // An agent may start the plan: with no workflow yet, its first task makes one.
  if (const auto* e = std::get_if<ErrorAnswer>(&answer);
      e != nullptr && e->message.starts_with("No active workflow")) {
    PlanImportRequest start;
    start.workflow = Workflow{.tasks = {request.task}};
    if (std::holds_alternative<PlanImportResponse>(ask(ctx, start)))
      return {Json{{"task_id", request.task.id}}, ""};
    answer = ask(ctx, request);  // another agent started it meanwhile
  }
  return result_of(answer);
}

constexpr const char* kTaskIdOnly =
    R"({"type":"object","properties":{"task_id":{"type":"string"}},"required":["task_id"]})";
constexpr const char* kHeldTask =
    R"({"type":"object","properties":{"task_id":{"type":"string","description":"default: the task you hold"}}})";

const std::array<McpTool, 8> kTools{{
    {"claim",
     "Claim the next ready task; yours until complete, fail or release (the server keeps your "
     "worker id and lease). task null: nothing ready now (plan_complete: nothing left).",
     R"({"type":"object","properties":{"role":{"type":"string"},"wait":{"type":"number","maximum":50,"description":"seconds to wait for a ready task"}}})",
     R"({"type":"object","properties":{"task":{"type":["object","null"]},"plan_complete":{"type":"boolean"}},"required":["task","plan_complete"]})",
     claim},
    {"complete",
     "Complete the task you hold, after committing its work (`harness git commit`); runs its "
     "verification commands. next: also claim the next task.",
     R"({"type":"object","properties":{"task_id":{"type":"string"},"next":{"type":"boolean"}}})",
     R"({"type":"object","properties":{"task_id":{"type":"string"},"next":{"type":"object"}},"required":["task_id"]})",
     complete},
    {"fail", "Fail an attempt of the task you hold; it is retried after a backoff.",
     R"({"type":"object","properties":{"task_id":{"type":"string"},"reason":{"type":"string"}},"required":["reason"]})",
     R"({"type":"object","properties":{"task_id":{"type":"string"},"status":{"type":"string"}},"required":["task_id"]})",
     fail},
    {"release", "Give the task you hold back (pending again, no attempt counted).",
     R"({"type":"object","properties":{"task_id":{"type":"string"},"reason":{"type":"string"}}})",
     R"({"type":"object","properties":{"task_id":{"type":"string"}},"required":["task_id"]})",
     release},
    {"heartbeat", "Renew the lease of the task you hold (on long work).", kHeldTask,
     R"({"type":"object","properties":{"task_id":{"type":"string"},"lease_expires_at":{}},"required":["task_id"]})",
     heartbeat},
    {"status", "Task counts by status, your worker id and the task you hold.",
     R"({"type":"object","properties":{}})",
     R"({"type":"object","properties":{"total":{"type":"integer"},"worker_id":{"type":"string"}},"required":["total","worker_id"]})",
     status},
    {"show", "One task: description, instructions, status, attempts, lease, blocked_by.",
     kTaskIdOnly,
     R"({"type":"object","properties":{"id":{"type":"string"},"status":{"type":"string"}},"required":["id","status"]})",
     show},
    {"add", "Add a task to the live plan (the first task starts one).",
     R"({"type":"object","properties":{"id":{"type":"string"},"description":{"type":"string"},"dependencies":{"type":"array","items":{"type":"string"}},"instructions":{"type":"string"},"priority":{"type":"integer"},"role":{"type":"string"}},"required":["id","description"]})",
     R"({"type":"object","properties":{"task_id":{"type":"string"}},"required":["task_id"]})", add},
}};

}  // namespace

Json McpToolResult::to_mcp(bool structured_content) const {
  if (is_error())
    return Json{{"content", Json::array({{{"type", "text"}, {"text", error}}})}, {"isError", true}};
  Json result{{"content", Json::array({{{"type", "text"}, {"text", dump(structured)}}})}};
  if (structured_content) result["structuredContent"] = structured;
  return result;
}

std::span<const McpTool> mcp_tools() { return kTools; }

const McpTool* find_mcp_tool(std::string_view name) {
  auto it =
      std::find_if(kTools.begin(), kTools.end(), [&](const McpTool& t) { return t.name == name; });
  return it == kTools.end() ? nullptr : &*it;
}

Json mcp_tool_listing(bool with_output_schema) {
  Json tools = Json::array();
  for (const McpTool& t : kTools) {
    Json tool{{"name", t.name},
              {"description", t.description},
              {"inputSchema", parse_json(t.input_schema)}};
    if (with_output_schema) tool["outputSchema"] = parse_json(t.output_schema);
    tools.push_back(std::move(tool));
  }
  return tools;
}

}  // namespace harness
