// The session of `harness mcp` (docs/agents.md): the Model Context Protocol's lifecycle and
// tool methods over JSON-RPC lines (mcp_jsonrpc.h), the tools being mcp_tools.h's.
//
// Methods: initialize (version negotiation: the client's protocolVersion when it is one of
// kMcpProtocolVersions, else the latest), notifications/initialized, ping, tools/list,
// tools/call. Anything else is -32601 (a notification is never answered, whatever it is);
// malformed params, an unknown tool or arguments outside a tool's schema are -32602; a refusal
// of the daemon's, or a daemon that cannot be reached, is a tool result with isError.
//
// Worker identity, fixed at initialize: the configured one (HARNESS_WORKER_ID or
// HARNESS_WORKER_ID_FILE in the server's environment, which an MCP client's config can set),
// else "mcp-<client name>-<process tag>", one per server process, so two agents never share
// one by default. The lease of each claim is kept in the lease book, under that id, so a
// server restarted under a configured id still completes what it held.
#pragma once

#include <array>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>

#include "cli/lease_book.h"
#include "cli/mcp_tools.h"

namespace harness {

// Newest first.
inline constexpr std::array<std::string_view, 4> kMcpProtocolVersions{"2025-11-25", "2025-06-18",
                                                                      "2025-03-26", "2024-11-05"};

// The version a server answers a client asking for `requested` with.
std::string_view negotiate_mcp_version(std::string_view requested);

struct McpServerOptions {
  DaemonLine daemon;
  std::function<std::optional<std::string>()> head;  // HEAD of the worktree, when it has one
  std::string cwd;                                   // where verification commands run
  std::filesystem::path lease_dir;                   // the lease book's directory
  std::optional<std::string> configured_worker;      // see the header comment
  std::string process_tag;                           // unique to this process
  std::string version;                               // serverInfo.version
  // Called once the worker id is fixed (the caller links it to the agent, for the hooks).
  std::function<void(const std::string& worker_id)> on_worker;
};

class McpServer {
 public:
  explicit McpServer(McpServerOptions options);

  // Handles one line the client sent; returns the reply line (no newline), or nullopt when
  // nothing is to be answered (a notification, a response, a blank line).
  std::optional<std::string> handle_line(std::string_view line);

  // Empty until initialize (or the first tool call) fixes it.
  const std::string& worker_id() const { return tools_.worker_id; }

 private:
  Json initialize(const Json& params);
  Json call_tool(const Json& params);
  void fix_worker(const std::string& client_name);

  McpServerOptions options_;
  LeaseBook leases_;
  McpToolContext tools_;
  std::string version_;  // negotiated; empty before initialize
};

// Reads lines from `in` until it ends, answering each on `out` (flushed at once). Returns 0.
int serve_mcp(McpServer& server, std::istream& in, std::ostream& out);

}  // namespace harness
