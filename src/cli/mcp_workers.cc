#include "cli/mcp_workers.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>
#include <system_error>

#include "core/error.h"
#include "core/json.h"
#include "core/posix.h"
#include "store/state_dir.h"

namespace harness {

namespace fs = std::filesystem;

McpWorkerRecords::McpWorkerRecords(fs::path dir) : dir_(std::move(dir)) {}

fs::path McpWorkerRecords::file_of(const std::string& worker) const {
  std::string name;
  for (const unsigned char c : worker) name += std::isalnum(c) || c == '-' ? char(c) : '_';
  return dir_ / (name + ".json");
}

void McpWorkerRecords::add(const std::string& worker, const std::string& agent) {
  if (ensure_private_dir(dir_, MissingParents::kCreate) == DirState::kNotADirectory)
    throw Error::invalid(dir_.string() + " is not a directory");
  const fs::path file = file_of(worker);
  const fs::path temp = file.string() + ".new-" + std::to_string(::getpid());
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << Json{{"worker", worker}, {"agent", agent}}.dump() << "\n";
    if (!out.flush()) throw Error::io("cannot write " + temp.string());
  }
  fs::rename(temp, file);
}

void McpWorkerRecords::remove(const std::string& worker) {
  std::error_code ignored;
  fs::remove(file_of(worker), ignored);
}

std::vector<std::string> McpWorkerRecords::workers_of(const std::string& agent) const {
  std::vector<std::string> workers;
  std::error_code error;
  for (fs::directory_iterator it(dir_, error), end; !error && it != end; it.increment(error)) {
    if (it->path().extension() != ".json") continue;
    std::ifstream in(it->path(), std::ios::binary);
    try {
      const Json record = parse_json(std::string(std::istreambuf_iterator<char>(in), {}));
      if (record.at("agent") == agent) workers.push_back(record.at("worker").get<std::string>());
    } catch (const std::exception&) {
      // A record being written or damaged: it names no worker of this agent.
    }
  }
  std::sort(workers.begin(), workers.end());
  return workers;
}

McpWorkerRecords mcp_worker_records(const fs::path& worktree) {
  return McpWorkerRecords(state_dir(worktree) / "mcp-workers");
}

}  // namespace harness
