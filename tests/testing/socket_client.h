// The one client of the daemon's line protocol (docs/protocol.md) for tests: raw bytes out,
// reply lines in, on one connection for as many requests as the test sends. Every wait has a
// deadline, so a daemon that hangs fails the test with a message instead of hanging it.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/json.h"
#include "core/posix.h"

namespace harness::test_support {

class SocketClient {
 public:
  // Long enough for the slowest request of a sanitizer build; a hang is what it catches.
  static constexpr std::chrono::milliseconds kDefaultDeadline{60'000};

  // Connects to `socket`; throws std::runtime_error when nothing accepts. `deadline` bounds
  // each send_raw and read_line.
  explicit SocketClient(const std::filesystem::path& socket,
                        std::chrono::milliseconds deadline = kDefaultDeadline);
  SocketClient(SocketClient&&) noexcept = default;
  SocketClient& operator=(SocketClient&&) noexcept = default;

  // Sends `bytes` as they are (no newline is added). Throws std::runtime_error when the daemon
  // closed the connection first or has not taken them all within the deadline. Safe while
  // another thread waits in read_line.
  void send_raw(std::string_view bytes);

  // The next reply line, without its '\n'; "" when the daemon closed (or reset) the
  // connection first. Throws std::runtime_error when no whole line arrives within the
  // deadline.
  std::string read_line();

  // send_raw(line + "\n"), then read_line().
  std::string request(std::string_view line);
  // request(request.dump()), parsed.
  Json call(const Json& request);

  int fd() const { return fd_.get(); }

 private:
  UniqueFd fd_;
  std::chrono::milliseconds deadline_;
  std::string pending_;       // received bytes not yet returned as a line
  std::size_t searched_ = 0;  // bytes of pending_ known to hold no '\n'
};

// A fresh connection's round trip of `line`: the reply line, or "" when there is none
// (nothing listens, the daemon closed the connection, or `timeout` passed).
std::string one_shot(const std::filesystem::path& socket, std::string_view line,
                     std::chrono::milliseconds timeout = std::chrono::seconds(10));

// A fresh connection's round trip of {"command":"ping"}: true when it answered ok in time.
bool ping_ok(const std::filesystem::path& socket,
             std::chrono::milliseconds timeout = std::chrono::seconds(10));

// A workflow of `n` independent tasks named t0..t{n-1}, as the JSON of an update_state request.
Json independent_tasks_request(int n);

}  // namespace harness::test_support
