// How a drain's workers' requests travel. Each worker keeps one request outstanding and sends
// the next when its reply is read, whichever driver runs it:
//
// - kThreads: a thread per worker, blocked in poll() while its request is out — how a fleet of
//   separate agent processes loads the daemon, and the wake-up of every waiting worker costs
//   the shared cores a context switch per reply.
// - kEventLoop: every worker on one thread's epoll loop — how load generators such as wrk or
//   memtier drive a server, so that the client takes as little of the two cores it shares with
//   the daemon as it can: a batch of replies that one fsync released wakes it once.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <vector>

#include "connection.h"
#include "drain_worker.h"

namespace harness::bench {

enum class ClientModel { kThreads, kEventLoop };

const char* to_string(ClientModel model);

struct DriverOptions {
  // Worker i talks to sockets[i % sockets.size()]: daemons sharing one plan (PostgreSQL).
  std::vector<std::filesystem::path> sockets;
  ConnectionMode connection = ConnectionMode::kPersistent;
  ClientModel model = ClientModel::kThreads;
};

// Runs `workers` until run.over() (a worker stops early once it is finished()), then waits for the
// requests still outstanding. Persistent connections are opened and warmed up with a ping first;
// then `on_release` is called once, right before the first claim, and sets run.deadline. A failure
// is recorded with run.fail, not thrown.
void drive(DrainRun& run, std::vector<std::unique_ptr<DrainWorker>>& workers,
           const DriverOptions& options, const std::function<void()>& on_release);

}  // namespace harness::bench
