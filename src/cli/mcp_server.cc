#include "cli/mcp_server.h"

#include <algorithm>
#include <cctype>
#include <istream>
#include <ostream>

#include "cli/mcp_jsonrpc.h"
#include "core/error.h"

namespace harness {

namespace {

constexpr std::size_t kClientNameChars = 16;
// structuredContent and outputSchema came with this revision; older clients get text only.
constexpr std::string_view kStructuredSince = "2025-06-18";

constexpr const char* kInstructions =
    "harness hands out the tasks of a shared plan. Loop: claim -> do the task -> commit its work "
    "(`harness git commit ...`) -> complete; fail (with a reason) or release when you cannot "
    "finish. heartbeat on long work. You never pass a worker id or lease: this server keeps them.";

// Raised for params the method cannot take: answered -32602.
struct BadParams {
  std::string message;
};

std::string sanitized(std::string_view name) {
  std::string out;
  for (char c : name.substr(0, kClientNameChars))
    out += std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'
               ? static_cast<char>(std::tolower(static_cast<unsigned char>(c)))
               : '_';
  return out;
}

std::string string_param(const Json& params, const char* name) {
  auto it = params.find(name);
  if (it == params.end() || !it->is_string())
    throw BadParams{std::string("params.") + name + " must be a string"};
  return it->get<std::string>();
}

}  // namespace

std::string_view negotiate_mcp_version(std::string_view requested) {
  auto it = std::find(kMcpProtocolVersions.begin(), kMcpProtocolVersions.end(), requested);
  return it == kMcpProtocolVersions.end() ? kMcpProtocolVersions.front() : *it;
}

McpServer::McpServer(McpServerOptions options)
    : options_(std::move(options)), leases_(options_.lease_dir) {
  tools_.daemon = options_.daemon;
  tools_.leases = &leases_;
  tools_.head = options_.head;
  tools_.cwd = options_.cwd;
}

void McpServer::fix_worker(const std::string& client_name) {
  if (!tools_.worker_id.empty()) return;
  const std::string name = sanitized(client_name);
  tools_.worker_id = options_.configured_worker
                         ? *options_.configured_worker
                         : "mcp-" + (name.empty() ? "" : name + "-") + options_.process_tag;
  if (options_.on_worker) options_.on_worker(tools_.worker_id);
}

Json McpServer::initialize(const Json& params) {
  version_ = negotiate_mcp_version(string_param(params, "protocolVersion"));
  std::string client_name;
  if (auto info = params.find("clientInfo"); info != params.end() && info->is_object())
    client_name = info->value("name", Json("")).is_string() ? info->value("name", "") : "";
  fix_worker(client_name);
  return Json{{"protocolVersion", version_},
              {"capabilities", {{"tools", {{"listChanged", false}}}}},
              {"serverInfo", {{"name", "harness"}, {"version", options_.version}}},
              {"instructions", kInstructions}};
}

Json McpServer::call_tool(const Json& params) {
  const std::string name = string_param(params, "name");
  const McpTool* tool = find_mcp_tool(name);
  if (tool == nullptr) throw BadParams{"Unknown tool: " + name};
  Json arguments = params.value("arguments", Json::object());
  fix_worker("");
  // A client that negotiated nothing is taken to be current.
  const bool structured = version_.empty() || version_ >= kStructuredSince;
  McpToolResult result;
  try {
    result = tool->call(tools_, arguments);
  } catch (const McpArgumentError& e) {
    throw BadParams{"Invalid arguments for tool " + name + ": " + e.what()};
  } catch (const std::exception& e) {
    result.error = e.what();
  }
  return result.to_mcp(structured);
}

std::optional<std::string> McpServer::handle_line(std::string_view line) {
  const JsonRpcMessage message = parse_jsonrpc_line(line);
  if (const auto* failure = std::get_if<JsonRpcFailure>(&message))
    return jsonrpc_error(failure->id, failure->code, failure->message);
  const auto* call = std::get_if<JsonRpcCall>(&message);
  if (call == nullptr || call->is_notification()) return std::nullopt;
  const Json params = call->params.is_null() ? Json::object() : call->params;
  try {
    if (call->method == "initialize") return jsonrpc_result(*call->id, initialize(params));
    if (call->method == "ping") return jsonrpc_result(*call->id, Json::object());
    if (call->method == "tools/list")
      return jsonrpc_result(
          *call->id,
          Json{{"tools", mcp_tool_listing(version_.empty() || version_ >= kStructuredSince)}});
    if (call->method == "tools/call") return jsonrpc_result(*call->id, call_tool(params));
  } catch (const BadParams& bad) {
    return jsonrpc_error(*call->id, JsonRpcCode::kInvalidParams, bad.message);
  } catch (const std::exception& e) {
    return jsonrpc_error(*call->id, JsonRpcCode::kInternalError, e.what());
  }
  return jsonrpc_error(*call->id, JsonRpcCode::kMethodNotFound,
                       "Method not found: " + call->method);
}

int serve_mcp(McpServer& server, std::istream& in, std::ostream& out) {
  std::string line;
  while (std::getline(in, line)) {
    if (auto reply = server.handle_line(line)) {
      out << *reply << '\n';
      out.flush();
    }
  }
  return 0;
}

}  // namespace harness
