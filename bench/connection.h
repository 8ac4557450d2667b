// A benchmark client of the daemon's JSON-lines protocol (docs/protocol.md). Unlike the CLI's
// send_request it can keep one connection for many requests, and it never starts a daemon.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "core/json.h"

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

 private:
  void connect();
  void disconnect();
  std::string read_line();

  std::filesystem::path socket_;
  ConnectionMode mode_;
  int fd_ = -1;
};

// Sends `request` and returns the reply's "data". Throws Error::conflict with the daemon's
// message when the reply is an error envelope, and what round_trip throws.
Json call(Connection& connection, const Json& request);

}  // namespace harness::bench
