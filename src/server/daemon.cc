#include "server/daemon.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <iostream>
#include <mutex>
#include <optional>

#include <asio.hpp>

#include "core/error.h"
#include "server/daemon_lock.h"
#include "server/session.h"

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

Protocol::acceptor bind_socket(asio::io_context& io, const std::filesystem::path& path) {
  if (path.string().size() >= sizeof(sockaddr_un{}.sun_path))
    throw Error::invalid("socket path is too long (max " +
                         std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) +
                         " bytes): " + path.string());
  ::unlink(path.c_str());  // we hold the lock, so a socket file left here is stale
  Protocol::acceptor acceptor(io);
  acceptor.open();
  const mode_t old_mask = ::umask(077);  // never visible with wider permissions, not even briefly
  asio::error_code error;
  acceptor.bind(Protocol::endpoint(path.string()), error);
  ::umask(old_mask);
  if (error) throw Error::io("cannot bind " + path.string() + ": " + error.message());
  ::chmod(path.c_str(), 0600);
  acceptor.listen(SOMAXCONN);
  return acceptor;
}

}  // namespace

struct Daemon::Impl {
  Options options;
  // Destroyed at release(), which closes every client connection still open; guarded by
  // io_mutex so that stop() from another thread never touches a destroyed context.
  std::unique_ptr<asio::io_context> io = std::make_unique<asio::io_context>(1);
  std::mutex io_mutex;
  std::optional<DaemonLock> lock;
  std::unique_ptr<Service> service;
  std::optional<Protocol::acceptor> acceptor;
  std::optional<asio::signal_set> signals;

  explicit Impl(Options o) : options(std::move(o)) {
    options.service.worktree = options.worktree;
    // Before anything is visible to clients: a SIGTERM that arrives as soon as the socket
    // answers must still stop the daemon cleanly (it is delivered once run() starts).
    if (options.stop_on_signals) watch_signals();
    lock.emplace(options.socket_path);
    service = std::make_unique<Service>(options.service);
    acceptor.emplace(bind_socket(*io, options.socket_path));
    raise_descriptor_limit();
  }

  void accept() {
    acceptor->async_accept([this](const asio::error_code& error, Protocol::socket socket) {
      if (error == asio::error::operation_aborted) return;  // stopping
      if (!error) admit(std::move(socket));
      accept();
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
    ::unlink(options.socket_path.c_str());
    service.reset();  // commits queued writes, cancels commands
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
  std::cerr << "harness: daemon " << ::getpid() << " serving " << impl_->options.worktree.string()
            << " on " << impl_->options.socket_path.string() << "\n";
  impl_->io->run();
  impl_->release();
  std::cerr << "harness: daemon " << ::getpid() << " stopped\n";
}

void Daemon::stop() { impl_->stop(); }

}  // namespace harness
