// A benchmark client of the daemon's JSON-lines protocol (docs/protocol.md). Unlike the CLI's
// send_request it can keep one connection for many requests, and it never starts a daemon.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "core/json.h"
#include "core/posix.h"

namespace harness::bench {

enum class ConnectionMode {
  kPersistent,  // one connection carries every request, as a long-lived worker would
  kPerRequest,  // connect, send one line, read one line, close: what each CLI call does
};

class Connection {
 public:
  // Does not connect yet: the first request does.
  Connection(std::filesystem::path socket, ConnectionMode mode);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Sends one request line (no newline) and returns the reply line (no newline). Throws
  // Error::not_found when nothing listens on the socket (ENOENT, ECONNREFUSED at connect) and
  // Error::io for any other failure, e.g. the daemon closing the connection.
  std::string round_trip(std::string_view request);

  // The same round trip in two halves, for a caller that waits for many connections at once
  // (epoll on fd()). send_request connects first when no connection is open; the line (no
  // newline) must fit the socket's empty send buffer, as a request line does, since it is sent
  // without waiting. try_read_reply reads what has arrived without waiting: the reply line, or
  // nullopt when it is not all there yet. Both throw what round_trip throws, closing the
  // connection first; a per-request connection is closed once its reply is read.
  void send_request(std::string_view request);
  std::optional<std::string> try_read_reply();

  bool is_open() const { return static_cast<bool>(fd_); }
  int fd() const { return fd_.get(); }  // -1 when not open

 private:
  void connect();
  void disconnect();
  void send_line(std::string_view request);
  std::optional<std::string> take_line();
  template <typename Step>
  auto closing_on_failure(Step step);

  std::filesystem::path socket_;
  ConnectionMode mode_;
  UniqueFd fd_;
  std::string received_;  // of the reply being read
};

// Sends `request` and returns the reply's "data". Throws Error::conflict with the daemon's
// message when the reply is an error envelope, and what round_trip throws.
Json call(Connection& connection, const Json& request);

}  // namespace harness::bench
