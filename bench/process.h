// Child processes for the benchmarks: the daemon under test, and `harness ping` runs timed as
// whole processes. posix_spawn rather than exec/run_command: the daemon must keep
// running in the background and a timed run must not pay for output capture.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace harness::bench {

struct SpawnSpec {
  std::vector<std::string> args;           // args[0] is a path; PATH is not searched
  std::map<std::string, std::string> env;  // laid over this process's environment
  std::filesystem::path output;            // stdout and stderr go here; empty: /dev/null
  // Starts the child in a session of its own, as the CLI starts the daemon (cli/daemon_spawn):
  // with the kernel's autogroup scheduling, that gives the daemon's threads a CPU share of
  // their own instead of one thread's share each among the benchmark's workers.
  bool new_session = false;
};

class ChildProcess {
 public:
  // Starts `spec` with stdin on /dev/null. Throws Error::io when it cannot be spawned.
  explicit ChildProcess(const SpawnSpec& spec);
  // Kills (SIGKILL) and reaps a child that is still running.
  ~ChildProcess();
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&&) = delete;
  ChildProcess(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // The wait status once the child has exited (reaping it), nullopt while it runs.
  std::optional<int> poll();
  // Waits for the exit (blocking, so the moment of exit is seen at once); the wait status.
  int wait();
  // Waits up to `timeout` for the exit; nullopt if the child is still running then.
  std::optional<int> wait_for(std::chrono::milliseconds timeout);
  void kill(int signal);

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// "exit 0", "exit 3", "killed by signal 9" for a wait status.
std::string describe_wait_status(int status);

}  // namespace harness::bench
