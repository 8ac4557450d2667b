// Which MCP servers act for which agent (docs/agents.md, "Identity"). A `harness mcp` server
// claims under its own worker id, but the agent it serves (Claude Code, say) stops and compacts
// through hooks, which must count the server's tasks as the session's. The server records its
// worker id under the agent process it runs below (cli/agent_process.h), the same process a hook
// of that agent finds, and removes the record when it exits. One small file per server, in the
// state directory.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace harness {

class McpWorkerRecords {
 public:
  // `dir`: where the records live (created, private, on the first add).
  explicit McpWorkerRecords(std::filesystem::path dir);

  // Records that MCP worker `worker` serves agent process `agent` (its worker id).
  void add(const std::string& worker, const std::string& agent);
  void remove(const std::string& worker);
  // The MCP workers recorded for `agent`, sorted.
  std::vector<std::string> workers_of(const std::string& agent) const;

 private:
  std::filesystem::path file_of(const std::string& worker) const;
  std::filesystem::path dir_;
};

// The records of `worktree`'s state directory.
McpWorkerRecords mcp_worker_records(const std::filesystem::path& worktree);

}  // namespace harness
