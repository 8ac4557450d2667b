#include "server/daemon.h"

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <asio.hpp>

#include "core/error.h"
#include "core/logger.h"
#include "exec/reaper.h"
#include "log/trajectory_writer.h"
#include "server/daemon_lock.h"
#include "server/socket_listener.h"
#include "store/open_store.h"
#include "store/pg_change_feed.h"
#include "store/pg_event_log.h"
#include "store/state_dir.h"

namespace harness {

namespace {

// Each idle client holds a descriptor; allow as many as the hard limit permits.
void raise_descriptor_limit() {
  struct rlimit limit;
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace

struct Daemon::Impl {
  Options options;
  // Destroyed at release(), which closes every client connection still open; guarded by
  // io_mutex so that stop() from another thread never touches a destroyed context.
  std::unique_ptr<asio::io_context> io = std::make_unique<asio::io_context>(1);
  std::mutex io_mutex;
  // Each of the following is released by release(), in an order of its own.
  std::optional<DaemonLock> lock;
  std::unique_ptr<CommandRuntime> runtime;  // chosen once: this machine or a container
  std::optional<Reaper> reaper;             // outlives the service, whose commands it watches
  CommandPool::Runner command_runner;       // the runtime's, through the reaper when there is one
  // The service's collaborators.
  OpenedStore writes;
  OpenedStore reads;
  std::unique_ptr<PgEventRecorder> event_copy;  // PostgreSQL: the trajectory, in the database
  std::unique_ptr<TrajectoryWriter> trajectory;
  std::unique_ptr<Service> service;
  std::unique_ptr<PgChangeFeed> changes;  // PostgreSQL: the other daemons' commits
  std::vector<std::unique_ptr<Listener>> listeners;
  std::optional<asio::signal_set> signals;

  explicit Impl(Options o) : options(std::move(o)) {
    options.service.worktree = options.worktree;
    // Before anything is visible to clients: a SIGTERM that arrives as soon as the socket
    // answers must still stop the daemon cleanly (it is delivered once run() starts).
    if (options.stop_on_signals) watch_signals();
    ensure_state_dir(options.worktree);  // moves an old W/.harness first
    lock.emplace(options.worktree, options.socket_path);
    start_commands();
    open_state();
    service =
        std::make_unique<Service>(Service::Collaborators{*writes.store, *reads.store, *trajectory,
                                                         SystemClock::instance(), command_runner},
                                  options.service);
    watch_other_daemons();
    listeners.push_back(std::make_unique<SocketListener>(
        *io, *service, SocketListener::Options{options.socket_path, options.request_limits},
        [this] { stop(); }));
    raise_descriptor_limit();
  }

  // After the lock (a daemon that loses the race checks no container and starts no reaper).
  void start_commands() {
    const RuntimeConfig config = options.runtime.value_or(RuntimeConfig::from_environment());
    runtime = open_command_runtime(config);
    if (!config.container.empty()) log_info("commands run in " + runtime->description());
    if (options.reap_commands) start_reaper();
    command_runner = [this](const CommandSpec& spec, std::stop_token stop) {
      return runtime->run(spec, stop, reaper ? &*reaper : nullptr);
    };
  }

  // Without a reaper the daemon still serves: only what commands start in the background may
  // then outlive a kill -9.
  void start_reaper() {
    try {
      reaper.emplace();
    } catch (const Error& e) {
      log_warning(std::string(e.what()) +
                  "; a command's background processes may outlive a daemon killed by SIGKILL");
    }
  }

  void open_state() {
    const StoreLocation location =
        choose_store_location(options.worktree, options.store, options.plan);
    writes = open_store({options.worktree, StoreConfig::Use::kDaemon, location});
    options.service.store = location.describe();
    for (const std::string& note : writes.notes) log_info(note);
    reads = open_store({options.worktree, StoreConfig::Use::kRead, location});
    if (!reads.store)
      throw Error::io(state_db_path(options.worktree).string() + " vanished as it was opened");
    TrajectoryWriter::Mirror mirror;
    if (location.is_postgres()) {
      event_copy =
          std::make_unique<PgEventRecorder>(PgTarget{location.url, location.plan}, daemon_name());
      mirror = [copy = event_copy.get()](std::string_view lines) { copy->record(lines); };
    }
    trajectory = std::make_unique<TrajectoryWriter>(trajectory_path(options.worktree),
                                                    SystemClock::instance(), std::move(mirror));
  }

  // This daemon among the plan's others: its host and pid.
  static std::string daemon_name() {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    return std::string(host) + ":" + std::to_string(::getpid());
  }

  // With PostgreSQL, other daemons' commits may make work ready for this one's waiting claims.
  void watch_other_daemons() {
    auto* shared = dynamic_cast<PgStore*>(writes.store.get());
    if (!shared) return;
    changes = std::make_unique<PgChangeFeed>(shared->target(), shared->change_channel(),
                                             [this] { service->work_may_be_ready(); });
  }

  void watch_signals() {
    signals.emplace(*io, SIGINT, SIGTERM);
    signals->async_wait([this](const asio::error_code& error, int) {
      if (!error) stop();
    });
  }

  void stop() {
    std::lock_guard guard(io_mutex);
    if (io) io->stop();
  }

  void release() {
    listeners.clear();   // no client from here on; our socket file is removed
    changes.reset();     // nothing wakes the service from here on
    service.reset();     // commits queued writes, cancels commands, records daemon_stop
    trajectory.reset();  // writes what the service recorded
    event_copy.reset();  // and copies it to the database if it can
    reads.store.reset();
    writes.store.reset();
    reaper.reset();  // nothing is left on its list: it just exits
    runtime.reset();
    signals.reset();
    {
      std::lock_guard guard(io_mutex);
      io.reset();
    }
    lock.reset();
  }
};

Daemon::Daemon(Options options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Daemon::~Daemon() {
  if (impl_->lock) impl_->release();
}

void Daemon::run() {
  for (auto& listener : impl_->listeners) listener->start();
  log_info("daemon " + std::to_string(::getpid()) + " serving " + impl_->options.worktree.string() +
           " on " + impl_->options.socket_path.string());
  impl_->io->run();
  impl_->release();
  log_info("daemon " + std::to_string(::getpid()) + " stopped");
}

void Daemon::stop() { impl_->stop(); }

}  // namespace harness
