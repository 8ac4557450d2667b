#include "connection.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"
#include "core/posix.h"

namespace harness::bench {

Connection::Connection(std::filesystem::path socket, ConnectionMode mode)
    : socket_(std::move(socket)), mode_(mode) {}

Connection::~Connection() { disconnect(); }

void Connection::connect() {
  fd_ = connect_unix_socket(socket_);
  if (fd_) return;
  const int err = errno;
  const std::string what = "cannot connect to " + socket_.string() + ": " + std::strerror(err);
  if (err == ENOENT || err == ECONNREFUSED) throw Error::not_found(what);
  throw Error::io(what);
}

void Connection::disconnect() { fd_.reset(); }

template <typename Step>
auto Connection::closing_on_failure(Step step) {
  try {
    return step();
  } catch (...) {
    disconnect();  // the stream's position is unknown now: never reuse it
    throw;
  }
}

std::string Connection::round_trip(std::string_view request) {
  send_request(request);
  for (;;) {
    if (std::optional<std::string> reply = try_read_reply()) return std::move(*reply);
    // It waits in poll(), as the CLI's client does, not in a blocking recv(): a thread blocked
    // in recv() on a Unix socket is also woken each time the daemon reads its request (the
    // kernel signals that send buffer space came free on the same wait queue), a wake-up and
    // two context switches per request for nothing; poll() waits for input alone.
    closing_on_failure([this] {
      pollfd ready{fd_.get(), POLLIN, 0};
      if (::poll(&ready, 1, -1) < 0 && errno != EINTR)
        throw Error::from_errno("cannot wait for the daemon");
    });
  }
}

void Connection::send_request(std::string_view request) {
  if (!fd_) connect();
  closing_on_failure([&] { send_line(request); });
}

std::optional<std::string> Connection::try_read_reply() {
  return closing_on_failure([this] { return take_line(); });
}

void Connection::send_line(std::string_view request) {
  received_.clear();
  std::string line(request);
  line += '\n';
  if (send_all(fd_.get(), line) != line.size())
    throw Error::from_errno("cannot send to the daemon");
}

// One request is outstanding at a time, so nothing follows the reply's newline.
std::optional<std::string> Connection::take_line() {
  char chunk[64 * 1024];
  for (;;) {
    const ssize_t n = ::recv(fd_.get(), chunk, sizeof chunk, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return std::nullopt;
    if (n < 0) throw Error::from_errno("cannot read from the daemon");
    if (n == 0) throw Error::io("the daemon closed the connection without replying");
    const std::size_t searched = received_.size();
    received_.append(chunk, static_cast<std::size_t>(n));
    if (const auto nl = received_.find('\n', searched); nl != std::string::npos) {
      std::string reply = std::move(received_);
      received_.clear();
      reply.resize(nl);
      if (mode_ == ConnectionMode::kPerRequest) disconnect();
      return reply;
    }
  }
}

Json call(Connection& connection, const Json& request) {
  Json reply = parse_json(connection.round_trip(request.dump()));
  if (reply.value("status", "") != "ok")
    throw Error::conflict(request.value("command", "request") +
                          " failed: " + reply.value("message", reply.dump()));
  return std::move(reply["data"]);
}

}  // namespace harness::bench
