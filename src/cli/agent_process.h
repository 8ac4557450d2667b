// The default worker identity (issue 13 item 15): the agent process a CLI call comes from.
//
// An agent (Claude Code, Codex, a script) runs `harness` through shells and wrappers. Walking
// up the process tree past those to the nearest other ancestor finds the agent, the same one
// on every call it makes, and a different one for each agent: two agents never share an id,
// as they did when every agent of a user read one id file.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace harness {

// What /proc says about one process.
struct ProcessInfo {
  pid_t pid = 0;
  pid_t ppid = 0;
  std::string comm;               // the kernel's name for it (at most 15 characters)
  unsigned long long start = 0;   // start time, in clock ticks since boot
  std::vector<std::string> argv;  // empty when unreadable
};

// Reads `proc_root`/PID/stat and cmdline; nullopt when the process is gone or unreadable.
std::optional<ProcessInfo> read_process(const std::filesystem::path& proc_root, pid_t pid);

// True for what stands between an agent and `harness` without being an agent: shells (sh,
// bash, dash, zsh, ...), env, timeout, nice, nohup, setsid, xargs, ..., harness itself and
// a Python running `-m harness`.
bool is_wrapper(const ProcessInfo& process);

struct AgentProcess {
  ProcessInfo process;
  // "<comm>-<pid>-<8 hex digits>": the hex digits hash the boot id and the start time, so a
  // pid reused later (or after a reboot) gives another id. Characters of comm outside
  // [A-Za-z0-9._-] become '_'.
  std::string worker_id;
};

// The nearest process at or above `start` that is not a wrapper. The walk stops at pid 1
// and at session roots (init, systemd, sshd, login, tmux, screen, ...), which many agents
// share: below one, the topmost wrapper seen (a terminal's shell, say) stands for the
// session. nullopt when nothing usable is found (no /proc, or harness started by pid 1).
// `proc_root` is /proc except in tests; `boot_id` goes into the hash.
std::optional<AgentProcess> find_agent_process(const std::filesystem::path& proc_root, pid_t start,
                                               const std::string& boot_id);

// find_agent_process over /proc from this process, with the kernel's boot id.
std::optional<AgentProcess> current_agent_process();

}  // namespace harness
