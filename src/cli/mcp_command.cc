#include "cli/mcp_command.h"

#include <unistd.h>

#include <iostream>
#include <random>

#include "cli/agent_process.h"
#include "cli/git_head.h"
#include "cli/mcp_server.h"
#include "cli/mcp_workers.h"
#include "cli/worker_id.h"
#include "store/state_dir.h"

namespace harness {

namespace {

// "<pid>-<8 hex digits>": the random part keeps a pid reused later from reusing the id.
std::string process_tag() {
  std::random_device random;
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", static_cast<unsigned>(random()));
  return std::to_string(::getpid()) + "-" + hex;
}

// Removes the server's record when it ends, however serve_mcp returns.
class RecordedWorker {
 public:
  explicit RecordedWorker(McpWorkerRecords records) : records_(std::move(records)) {}
  ~RecordedWorker() {
    if (!worker_.empty()) records_.remove(worker_);
  }
  void add(const std::string& worker, const AgentProcess& agent) {
    records_.add(worker, agent.worker_id);
    worker_ = worker;
  }

 private:
  McpWorkerRecords records_;
  std::string worker_;
};

}  // namespace

int run_mcp_server(const std::filesystem::path& worktree, ClientOptions options,
                   const std::string& version, std::istream& in, std::ostream& out) {
  // Verification commands and waiting claims answer when they are done.
  options.read_timeout.reset();
  const std::optional<AgentProcess> agent = current_agent_process();
  RecordedWorker recorded(mcp_worker_records(worktree));
  McpServerOptions o;
  o.daemon = [options](std::string_view line) { return send_line(options, line); };
  o.head = [worktree] { return current_head(worktree); };
  o.cwd = std::filesystem::current_path().string();
  o.lease_dir = state_dir(worktree) / "leases";
  if (auto configured = configured_worker_identity()) o.configured_worker = configured->id;
  o.process_tag = process_tag();
  o.version = version;
  o.on_worker = [&](const std::string& worker) {
    if (!agent) return;
    try {
      recorded.add(worker, *agent);
    } catch (const std::exception& e) {
      std::cerr << "harness mcp: the hooks will not see worker " << worker << ": " << e.what()
                << "\n";
    }
  };
  McpServer server(std::move(o));
  return serve_mcp(server, in, out);
}

}  // namespace harness
