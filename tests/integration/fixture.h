// Test fixtures that run the real harness binary: a scratch worktree, a daemon process, raw
// socket connections, and CLI invocations.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/json.h"

namespace harness::testing {

// A fresh directory under /tmp holding a git repository with one commit; removed afterwards.
class ScratchWorktree {
 public:
  ScratchWorktree();
  ~ScratchWorktree();
  const std::filesystem::path& path() const { return path_; }
  // A short socket path inside the worktree's parent directory.
  std::filesystem::path socket() const { return socket_; }

 private:
  std::filesystem::path root_, path_, socket_;
};

// `harness daemon` as a child process. The constructor returns once the daemon answers.
class DaemonProcess {
 public:
  DaemonProcess(const std::filesystem::path& socket, const std::filesystem::path& worktree);
  ~DaemonProcess();  // SIGKILL if still running
  pid_t pid() const { return pid_; }
  void kill_hard();          // SIGKILL and reap
  int terminate_and_wait();  // SIGTERM; returns the exit status
  int wait();                // reaps; returns the exit status

 private:
  pid_t pid_ = -1;
};

// One persistent client connection speaking the line protocol.
class Connection {
 public:
  explicit Connection(const std::filesystem::path& socket);
  ~Connection();
  Connection(Connection&& other) noexcept;
  void send_raw(const std::string& bytes);
  std::string read_line();  // "" when the daemon closed the connection
  std::string request(const std::string& line) {
    send_raw(line + "\n");
    return read_line();
  }
  Json call(const Json& request);  // sends, parses the reply
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  std::string pending_;
};

// Waits until `socket` accepts connections (true) or `timeout_ms` passes (false).
bool wait_until_listening(const std::filesystem::path& socket, int timeout_ms = 10000);

struct CliResult {
  int status = -1;
  std::string out, err;
};

// Runs the harness binary with `args`, HARNESS_SOCKET/HARNESS_WORKTREE set for `socket` and
// `worktree`, plus `env`.
CliResult run_harness(const std::vector<std::string>& args, const std::filesystem::path& socket,
                      const std::filesystem::path& worktree,
                      const std::map<std::string, std::string>& env = {});

// A workflow of `n` independent tasks named t0..t{n-1}, as the JSON of an update_state request.
Json independent_tasks_request(int n);

}  // namespace harness::testing
