// What the daemon does for each request, apart from socket I/O: reads on the reader thread,
// mutations through the group committer, commands on the command pool, and an event after each
// state change is durable (DESIGN §2–5). It is given what it works with (Collaborators): the
// daemon opens and owns them, a test may hand it stand-ins.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>

#include "core/clock.h"
#include "log/event_sink.h"
#include "protocol/commands.h"
#include "server/command_pool.h"
#include "store/batching_store.h"

namespace harness {

class Service {
 public:
  // Each must outlive the Service, and is used only through it while it runs.
  struct Collaborators {
    BatchingStore& writes;  // mutations, in batches on the group committer's threads
    Store& reads;           // reads, on the reader thread: a connection of its own
    EventSink& events;      // the trajectory
    const Clock& clock;     // the time of claims and completions
    // Runs exec and git commands; empty: run_command. A stand-in that runs nothing lets the
    // service fuzzer send any exec or git request safely.
    CommandPool::Runner run_command;
  };

  struct Options {
    std::filesystem::path worktree;
    // Applied to exec requests that give no timeout.
    std::chrono::milliseconds default_command_timeout{600'000};
    // Applied to git requests that give no timeout: far below exec's, because git holds the
    // repository mutex, and every agent's git waits while it runs.
    std::chrono::milliseconds default_git_timeout{120'000};
    // Between SIGTERM and SIGKILL for a command that timed out or is cancelled at shutdown.
    std::chrono::milliseconds kill_grace = kDefaultKillGrace;
    // exec and git requests running at once; more wait in a queue, first come first served.
    std::size_t max_commands = 64;
    // Where the plan is kept (StoreLocation::describe), told in ping replies.
    std::string store = "SQLite";
  };

  // Receives the answer to one request: the typed response of its command, or an error. Each
  // front end encodes it as it speaks (the socket: protocol/reply_encoder.h).
  using Reply = std::function<void(Answer answer)>;

  // Starts the service's threads and records a daemon_start event.
  Service(Collaborators collaborators, Options options);
  // Stops in this order, each step after the one before has finished: intake (later requests
  // get an error), plan files being read (those already read are handed to the committer), the
  // committer (queued mutations are committed, synced and answered), the reader (queued reads
  // are answered), then commands (queued ones refused, running ones cancelled and joined).
  // Every request handled before gets its reply, and a daemon_stop event is recorded, before
  // this returns.
  ~Service();

  // Serves one request. `reply` is called exactly once, on any thread (for a mutation, the
  // thread that made it durable), and must not block. ShutdownRequest only gets its reply here:
  // stopping is the caller's business.
  //
  // `cancelled` is stopped when nobody waits for the reply any more (the client went away): a
  // command it started is killed like one that timed out, and an exec, git or file import not yet
  // started never starts (it replies with an error). A mutation already handed to the committer
  // still happens.
  void handle(Request request, Reply reply, std::stop_token cancelled = {});

  // Another process changed the plan in a way that may have made work ready (a daemon on
  // another machine sharing the PostgreSQL store): waiting claims try again. Thread-safe.
  void work_may_be_ready();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A Service::Reply that takes only the response of one command (or an error), so that a handler
// cannot answer with another command's response.
template <typename Response>
class Responder {
 public:
  explicit Responder(Service::Reply reply) : reply_(std::move(reply)) {}
  void operator()(Response response) const {
    reply_(Answer(std::in_place_type<Response>, std::move(response)));
  }
  void fail(std::string message) const { reply_(ErrorAnswer{std::move(message)}); }

 private:
  Service::Reply reply_;
};

}  // namespace harness
