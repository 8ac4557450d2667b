#include "server/daemon.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include <asio.hpp>

#include "core/error.h"
#include "core/logger.h"
#include "exec/reaper.h"
#include "log/trajectory_writer.h"
#include "server/daemon_lock.h"
#include "server/session.h"
#include "store/open_store.h"
#include "store/state_dir.h"

namespace harness {

namespace {

using Protocol = asio::local::stream_protocol;

// Each idle client holds a descriptor; allow as many as the hard limit permits.
void raise_descriptor_limit() {
  struct rlimit limit;
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

bool same_user(Protocol::socket& socket) {
  struct ucred peer;
  socklen_t len = sizeof peer;
  return ::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &peer, &len) == 0 &&
         peer.uid == ::geteuid();
}

// What is at a socket path, for messages.
std::string kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISREG(mode)) return "a regular file";
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISFIFO(mode)) return "a FIFO";
  return "not a socket";
}

// True when a daemon accepts connections on `path`.
bool socket_answers(const std::filesystem::path& path) {
  asio::io_context io;
  Protocol::socket probe(io);
  asio::error_code error;
  probe.connect(Protocol::endpoint(path.string()), error);
  return !error;
}

// Throws unless what is at `path` may be replaced: only a socket nobody answers on (left by a
// daemon that was killed). Anything else there belongs to someone.
void check_replaceable(const std::filesystem::path& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return;  // gone meanwhile
  if (!S_ISSOCK(st.st_mode))
    throw Error::invalid("the socket path " + path.string() + " is " + kind_of(st.st_mode) +
                         ", not a socket; harness never replaces it: remove it or choose another "
                         "socket path (HARNESS_SOCKET, --socket)");
  if (socket_answers(path))
    throw Error::conflict("Another daemon is already running on socket " + path.string() +
                          " (for another worktree); choose another socket path "
                          "(HARNESS_SOCKET, --socket)");
}

Protocol::acceptor bind_socket(asio::io_context& io, const std::filesystem::path& path) {
  if (path.string().size() >= sizeof(sockaddr_un{}.sun_path))
    throw Error::invalid("socket path is too long (max " +
                         std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) +
                         " bytes): " + path.string());
  for (int attempt = 0;; ++attempt) {
    Protocol::acceptor acceptor(io);
    acceptor.open();
    const mode_t old_mask = ::umask(077);  // never visible with wider permissions, not even briefly
    asio::error_code error;
    acceptor.bind(Protocol::endpoint(path.string()), error);
    ::umask(old_mask);
    if (!error) {
      ::chmod(path.c_str(), 0600);
      acceptor.listen(SOMAXCONN);
      return acceptor;
    }
    if (error != asio::error::address_in_use || attempt > 0)
      throw Error::io("cannot bind " + path.string() + ": " + error.message());
    check_replaceable(path);
    ::unlink(path.c_str());  // a stale socket
  }
}

// The identity of the file at `path`, or nullopt when there is none.
std::optional<std::pair<dev_t, ino_t>> file_identity(const std::filesystem::path& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return std::nullopt;
  return std::pair(st.st_dev, st.st_ino);
}

// How often the daemon checks that its socket file is still there: a daemon whose socket was
// deleted holds the worktree's lock while nobody can reach it.
constexpr auto kSocketCheckInterval = std::chrono::seconds(1);

}  // namespace

struct Daemon::Impl {
  Options options;
  // Destroyed at release(), which closes every client connection still open; guarded by
  // io_mutex so that stop() from another thread never touches a destroyed context.
  std::unique_ptr<asio::io_context> io = std::make_unique<asio::io_context>(1);
  std::mutex io_mutex;
  // Each of the following is released by release(), in an order of its own.
  std::optional<DaemonLock> lock;
  std::optional<Reaper> reaper;        // outlives the service, whose commands it watches
  CommandPool::Runner command_runner;  // through the reaper when there is one; empty: run_command
  // The service's collaborators.
  OpenedStore writes;
  OpenedStore reads;
  std::unique_ptr<TrajectoryWriter> trajectory;
  std::unique_ptr<Service> service;
  std::optional<Protocol::acceptor> acceptor;
  std::optional<std::pair<dev_t, ino_t>> socket_file;  // what we bound, to notice its loss
  std::optional<asio::steady_timer> socket_check;
  std::optional<asio::signal_set> signals;

  explicit Impl(Options o) : options(std::move(o)) {
    options.service.worktree = options.worktree;
    // Before anything is visible to clients: a SIGTERM that arrives as soon as the socket
    // answers must still stop the daemon cleanly (it is delivered once run() starts).
    if (options.stop_on_signals) watch_signals();
    ensure_state_dir(options.worktree);  // moves an old W/.harness first
    lock.emplace(options.worktree, options.socket_path);
    if (options.reap_commands) start_reaper();
    open_state();
    service =
        std::make_unique<Service>(Service::Collaborators{*writes.store, *reads.store, *trajectory,
                                                         SystemClock::instance(), command_runner},
                                  options.service);
    listen();
    raise_descriptor_limit();
  }

  // After the lock (a daemon that loses the race starts none). Without one the daemon still
  // serves: only what commands start in the background may then outlive a kill -9.
  void start_reaper() {
    try {
      const Reaper& started = reaper.emplace();
      command_runner = [&started](const CommandSpec& spec, std::stop_token stop) {
        return run_command(spec, stop, &started);
      };
    } catch (const Error& e) {
      log_warning(std::string(e.what()) +
                  "; a command's background processes may outlive a daemon killed by SIGKILL");
    }
  }

  void open_state() {
    writes = open_store({options.worktree, StoreConfig::Use::kDaemon});
    for (const std::string& note : writes.notes) log_info(note);
    reads = open_store({options.worktree, StoreConfig::Use::kRead});
    if (!reads.store)
      throw Error::io(state_db_path(options.worktree).string() + " vanished as it was opened");
    trajectory = std::make_unique<TrajectoryWriter>(trajectory_path(options.worktree));
  }

  void listen() {
    acceptor.emplace(bind_socket(*io, options.socket_path));
    socket_file = file_identity(options.socket_path);
  }

  // Every kSocketCheckInterval: a socket file that was deleted is made again; one that was
  // replaced by something else means another daemon (or its owner) took the path, and this
  // one stops, releasing the worktree.
  void check_socket_periodically() {
    socket_check.emplace(*io, kSocketCheckInterval);
    socket_check->async_wait([this](const asio::error_code& error) {
      if (error) return;
      if (check_socket()) check_socket_periodically();
    });
  }

  bool check_socket() {
    const auto now = file_identity(options.socket_path);
    if (now == socket_file) return true;
    const std::string path = options.socket_path.string();
    if (now) {
      log_error("the socket " + path + " was replaced by another file; stopping");
    } else {
      log_warning("the socket " + path + " was deleted; listening on it again");
      try {
        listen();
        accept();
        return true;
      } catch (const std::exception& e) {
        log_error("cannot listen on " + path + " again (" + e.what() + "); stopping");
      }
    }
    stop();
    return false;
  }

  void accept() {
    acceptor->async_accept(
        [this, bound = socket_file](const asio::error_code& error, Protocol::socket socket) {
          if (error == asio::error::operation_aborted) return;  // stopping, or listening anew
          if (!error) admit(std::move(socket));
          if (bound == socket_file) accept();  // else listen() replaced the acceptor meanwhile
        });
  }

  void admit(Protocol::socket socket) {
    if (!same_user(socket)) {
      static const char refusal[] =
          "{\"status\":\"error\",\"message\":\"connection refused: not the daemon's user\"}\n";
      asio::error_code ignored;
      asio::write(socket, asio::buffer(refusal, sizeof refusal - 1), ignored);
      return;
    }
    std::make_shared<Session>(std::move(socket), *service, options.max_request_bytes, [this] {
      stop();
    })->start();
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
    acceptor.reset();
    // Only our own socket: the path may have been taken over meanwhile.
    if (socket_file && file_identity(options.socket_path) == socket_file)
      ::unlink(options.socket_path.c_str());
    service.reset();     // commits queued writes, cancels commands, records daemon_stop
    trajectory.reset();  // writes what the service recorded
    reads.store.reset();
    writes.store.reset();
    reaper.reset();  // nothing is left on its list: it just exits
    socket_check.reset();
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
  impl_->accept();
  impl_->check_socket_periodically();
  log_info("daemon " + std::to_string(::getpid()) + " serving " + impl_->options.worktree.string() +
           " on " + impl_->options.socket_path.string());
  impl_->io->run();
  impl_->release();
  log_info("daemon " + std::to_string(::getpid()) + " stopped");
}

void Daemon::stop() { impl_->stop(); }

}  // namespace harness
