// `harness mcp` (docs/agents.md): the MCP server (mcp_server.h) on stdin/stdout for the daemon
// of `worktree`, reached (and started when none listens) as every client verb does. Diagnostics
// go to stderr only: stdout carries nothing but MCP messages.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <string>

#include "cli/client.h"

namespace harness {

// Serves until stdin ends; returns the exit status. `options` reach the daemon; `version` is
// the server's (serverInfo.version).
int run_mcp_server(const std::filesystem::path& worktree, ClientOptions options,
                   const std::string& version, std::istream& in, std::ostream& out);

}  // namespace harness
