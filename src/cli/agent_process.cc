#include "cli/agent_process.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string_view>

namespace harness {
namespace {

namespace fs = std::filesystem;

// Deep enough for any real chain of wrappers, and a bound on a malformed (cyclic) fake tree.
constexpr int kMaxDepth = 64;

constexpr std::array<std::string_view, 24> kWrappers = {
    "sh",     "bash",  "dash",    "zsh",   "ksh",     "mksh",    "fish",  "tcsh",
    "csh",    "ash",   "busybox", "env",   "timeout", "nice",    "nohup", "stdbuf",
    "setsid", "xargs", "time",    "flock", "ionice",  "taskset", "chrt",  "harness"};

constexpr std::array<std::string_view, 10> kSessionRoots = {
    "init", "systemd", "tini",         "dumb-init", "docker-init",
    "sshd", "login",   "tmux: server", "screen",    "SCREEN"};

template <std::size_t N>
bool contains(const std::array<std::string_view, N>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

bool is_python_running_harness(const ProcessInfo& p) {
  if (p.comm.rfind("python", 0) != 0) return false;
  for (std::size_t i = 0; i + 1 < p.argv.size(); ++i)
    if (p.argv[i] == "-m" && p.argv[i + 1] == "harness") return true;
  return false;
}

bool is_session_root(const ProcessInfo& p) { return p.pid == 1 || contains(kSessionRoots, p.comm); }

// FNV-1a: stable across builds and processes, unlike std::hash.
std::uint32_t fnv1a(std::string_view text) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  return static_cast<std::uint32_t>(h ^ (h >> 32));
}

std::string worker_id_of(const ProcessInfo& p, const std::string& boot_id) {
  std::string name = p.comm;
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') c = '_';
  char hash[9];
  std::snprintf(hash, sizeof hash, "%08x", fnv1a(boot_id + ":" + std::to_string(p.start)));
  return name + "-" + std::to_string(p.pid) + "-" + hash;
}

}  // namespace

std::optional<ProcessInfo> read_process(const fs::path& proc_root, pid_t pid) {
  const fs::path dir = proc_root / std::to_string(pid);
  const std::string stat = read_text(dir / "stat");
  // "PID (COMM) STATE PPID ... STARTTIME ...": COMM may hold spaces and parentheses, so it
  // ends at the last ')'. STARTTIME is field 22, the 20th after COMM.
  const auto open = stat.find('('), close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) return std::nullopt;
  ProcessInfo p;
  p.pid = pid;
  p.comm = stat.substr(open + 1, close - open - 1);
  std::istringstream rest(stat.substr(close + 1));
  std::vector<std::string> fields{std::istream_iterator<std::string>(rest), {}};
  if (fields.size() < 20) return std::nullopt;
  try {
    p.ppid = static_cast<pid_t>(std::stol(fields[1]));
    p.start = std::stoull(fields[19]);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  const std::string cmdline = read_text(dir / "cmdline");
  for (std::size_t at = 0; at < cmdline.size();) {
    const std::size_t end = std::min(cmdline.find('\0', at), cmdline.size());
    p.argv.push_back(cmdline.substr(at, end - at));
    at = end + 1;
  }
  return p;
}

bool is_wrapper(const ProcessInfo& p) {
  return contains(kWrappers, p.comm) || is_python_running_harness(p);
}

std::optional<AgentProcess> find_agent_process(const fs::path& proc_root, pid_t start,
                                               const std::string& boot_id) {
  std::optional<ProcessInfo> topmost_wrapper;
  pid_t pid = start;
  for (int depth = 0; depth < kMaxDepth && pid > 0; ++depth) {
    std::optional<ProcessInfo> p = read_process(proc_root, pid);
    if (!p || is_session_root(*p)) break;
    if (!is_wrapper(*p)) return AgentProcess{*p, worker_id_of(*p, boot_id)};
    pid = p->ppid;
    topmost_wrapper = std::move(p);
  }
  // The walk's start (harness itself) is no session of its own.
  if (!topmost_wrapper || topmost_wrapper->pid == start) return std::nullopt;
  return AgentProcess{*topmost_wrapper, worker_id_of(*topmost_wrapper, boot_id)};
}

std::optional<AgentProcess> current_agent_process() {
  std::string boot_id = read_text("/proc/sys/kernel/random/boot_id");
  while (!boot_id.empty() && boot_id.back() == '\n') boot_id.pop_back();
  return find_agent_process("/proc", ::getpid(), boot_id);
}

}  // namespace harness
