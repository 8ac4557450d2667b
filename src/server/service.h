// What the daemon does for each request, apart from socket I/O: reads on the reader thread,
// mutations through the group committer, commands on the command pool, and a trajectory event
// after each state change is durable (DESIGN §2–5).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "core/clock.h"
#include "server/protocol.h"

namespace harness {

class Service {
 public:
  struct Options {
    std::filesystem::path worktree;
    const Clock* clock = &SystemClock::instance();
    // Applied to exec requests that give no timeout.
    std::chrono::milliseconds default_command_timeout{600'000};
    // Applied to git requests that give no timeout: far below exec's, because git holds the
    // repository mutex, and every agent's git waits while it runs.
    std::chrono::milliseconds default_git_timeout{120'000};
    // Between SIGTERM and SIGKILL for a command that timed out or is cancelled at shutdown.
    std::chrono::milliseconds kill_grace{1000};
  };

  // Builds the reply line (no newline). Replies to mutations are built by whoever writes them
  // (the syncer thread, once the change is durable), so that serialising never holds up the
  // thread that runs the next mutations.
  using ReplyBuilder = std::function<std::string()>;
  using Reply = std::function<void(ReplyBuilder build)>;

  // Creates W/.harness, opens the store (importing the Python original's state file once when
  // no workflow exists) and the trajectory. Throws Error when the state cannot be opened.
  explicit Service(Options options);
  // Cancels running commands, commits queued mutations and flushes the trajectory.
  ~Service();

  // Serves one request. `reply` is called exactly once, on any thread, with the builder of the
  // reply; it must not block, and runs the builder where it writes the reply. ShutdownRequest only
  // gets its reply here: stopping is the caller's business.
  void handle(Request request, Reply reply);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace harness
