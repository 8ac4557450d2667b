// The tools of `harness mcp` (docs/agents.md), one per command of the table (protocol/
// commands.h) an agent needs: claim, complete, fail, release, heartbeat, status, show, add.
// Each reads its arguments, sends the typed request to the daemon and turns the typed answer
// into an MCP tool result. The session's worker id and lease tokens are filled in here, so an
// agent never passes either. Schemas are kept small on purpose: every tool's listing costs an
// agent context on every turn (the whole tools/list result stays under 4 KiB, a test checks).
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include "cli/lease_book.h"
#include "core/json.h"

namespace harness {

// Sends one request line to the daemon, returns its reply line (client.h send_line); throws
// Error when the daemon cannot be reached or the connection is lost.
using DaemonLine = std::function<std::string(std::string_view request_line)>;

// What the tools of one MCP session share.
struct McpToolContext {
  DaemonLine daemon;
  std::string worker_id;
  LeaseBook* leases = nullptr;      // the worker's tokens (cli/lease_book.h), kept across restarts
  std::optional<std::string> held;  // the task this session claimed last and still holds
  // HEAD of the worktree when a task is completed (for the commit gate), and where its
  // verification commands run.
  std::function<std::optional<std::string>()> head;
  std::string cwd;
};

// Arguments that do not fit a tool's input schema: the server answers JSON-RPC -32602.
class McpArgumentError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A tool's answer: the response as structuredContent, or an error for the agent (isError).
struct McpToolResult {
  Json structured;  // an object; null for an error
  std::string error;
  bool is_error() const { return !error.empty(); }
  // {"content":[{"type":"text","text":…}], "structuredContent":…} or, for an error,
  // {"content":[{"type":"text","text":error}], "isError":true}. Without structured content
  // (a client older than 2025-06-18) the text still carries the whole JSON.
  Json to_mcp(bool structured_content) const;
};

struct McpTool {
  std::string_view name;
  std::string_view description;
  const char* input_schema;   // JSON Schema text of the arguments object
  const char* output_schema;  // JSON Schema text of structuredContent
  // Throws McpArgumentError for arguments that do not fit the input schema, before anything is
  // sent; a refusal of the daemon's ("task T is not held by W") is an error result, and so is
  // a daemon that cannot be reached (Error, thrown).
  McpToolResult (*call)(McpToolContext& ctx, const Json& arguments);
};

// The tools, in the order tools/list gives them.
std::span<const McpTool> mcp_tools();
// nullptr for an unknown name.
const McpTool* find_mcp_tool(std::string_view name);

// The "tools" array of tools/list: name, title-free description, inputSchema and, when
// `with_output_schema`, outputSchema.
Json mcp_tool_listing(bool with_output_schema);

}  // namespace harness
