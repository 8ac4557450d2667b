// The daemon (docs/architecture.md, "Daemons and clients"): one per state directory (so one per
// worktree) and one per socket, serving the JSON-lines protocol to any number of local clients on
// one I/O thread, with state work on the Service's threads.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "exec/command_runtime.h"
#include "server/service.h"
#include "server/session.h"

namespace harness {

class Daemon {
 public:
  struct Options {
    std::filesystem::path socket_path;
    std::filesystem::path worktree;
    RequestLimits request_limits;  // server/session.h
    bool stop_on_signals = false;  // SIGINT/SIGTERM stop it (the CLI), not when embedded
    // Starts a reaper (exec/reaper.h) from this program (the harness binary, not a test), so
    // that what a command started dies with the daemon even when it is killed by SIGKILL.
    bool reap_commands = false;
    // Where exec and git commands run (exec/command_runtime.h); nullopt: as the environment
    // says (HARNESS_CONTAINER_ID, HARNESS_HOST_ROOT, HARNESS_CONTAINER_ROOT).
    std::optional<RuntimeConfig> runtime;
    Service::Options service;  // its worktree is set from `worktree`
    // The daemon's --store and --plan (store/store_location.h choose_store_location).
    std::optional<std::string> store;
    std::optional<std::string> plan;
  };

  // Creates the state directory (moving an old W/.harness there), takes its lock
  // (Error::conflict "Another daemon is already running ..."), opens the command runtime
  // (refusing to start, with open_command_runtime's Error, when it cannot be used), opens the
  // state (the store's writer and reader through open_store, printing its notes, and the
  // trajectory; with PostgreSQL also the change feed from the plan's other daemons and the copy
  // of the trajectory in the database) and binds the socket, mode 0600. Only a stale socket file
  // is replaced: anything else at the path is an Error::invalid, a socket another daemon answers
  // on an Error::conflict. Throws Error. Once run() serves, the socket file is checked every
  // second: deleted, it is made again; replaced by another file, the daemon stops.
  explicit Daemon(Options options);
  ~Daemon();

  // Serves until stop() or a shutdown request. On return its socket file is removed, queued
  // writes are committed, running commands are cancelled, the reaper has exited and the lock is
  // released, so a new daemon may start on the same socket at once. Call once.
  void run();

  // Makes run() return soon. Thread-safe; may be called before run().
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace harness
