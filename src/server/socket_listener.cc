#include "server/socket_listener.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>

#include "core/error.h"
#include "core/logger.h"
#include "server/session.h"

namespace harness {

namespace {

using Protocol = asio::local::stream_protocol;

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

struct SocketListener::Impl {
  asio::io_context& io;
  Service& service;
  Options options;
  std::function<void()> stop_daemon;
  std::optional<Protocol::acceptor> acceptor;
  std::optional<std::pair<dev_t, ino_t>> socket_file;  // what we bound, to notice its loss
  std::optional<asio::steady_timer> socket_check;
  std::shared_ptr<PlanIntake> plan_intake = std::make_shared<PlanIntake>();

  void listen() {
    acceptor.emplace(bind_socket(io, options.socket_path));
    socket_file = file_identity(options.socket_path);
  }

  // Every kSocketCheckInterval: a socket file that was deleted is made again; one that was
  // replaced by something else means another daemon (or its owner) took the path, and this
  // one stops, releasing the worktree.
  void check_socket_periodically() {
    socket_check.emplace(io, kSocketCheckInterval);
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
    stop_daemon();
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
    std::make_shared<Session>(std::move(socket), service, options.limits, plan_intake, stop_daemon)
        ->start();
  }

  void close() {
    plan_intake->close();
    socket_check.reset();
    acceptor.reset();
    // Only our own socket: the path may have been taken over meanwhile.
    if (socket_file && file_identity(options.socket_path) == socket_file)
      ::unlink(options.socket_path.c_str());
    socket_file.reset();
  }
};

SocketListener::SocketListener(asio::io_context& io, Service& service, Options options,
                               std::function<void()> stop_daemon)
    : impl_(new Impl{io, service, std::move(options), std::move(stop_daemon), {}, {}, {}}) {
  impl_->listen();
}

SocketListener::~SocketListener() { impl_->close(); }

void SocketListener::start() {
  impl_->accept();
  impl_->check_socket_periodically();
}

void SocketListener::close() { impl_->close(); }

}  // namespace harness
