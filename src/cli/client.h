// The client side of the protocol: one request, one reply, over a fresh connection, with the
// daemon started on demand (docs/architecture.md, "Daemons and clients").
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "protocol/commands.h"
#include "protocol/envelope.h"
#include "protocol/request_codec.h"

namespace harness {

struct ClientOptions {
  std::filesystem::path socket;
  // The client's worktree: an auto-spawned daemon serves it, and a daemon reached must serve
  // it (check_worktree). Empty: never spawn, never check.
  std::filesystem::path worktree;
  bool autospawn = true;
  // Refuse a daemon that serves another worktree ($HARNESS_ANY_WORKTREE=1 or --any-worktree
  // turn it off): a socket path shared by two repositories must not let one change the other.
  bool check_worktree = true;
  // With check_worktree: the store the daemon must keep its plan in (StoreLocation::describe),
  // when the environment names one ($HARNESS_STORE, $HARNESS_PLAN).
  std::optional<std::string> expected_store;
  // How long to keep trying to reach a daemon that is starting ($HARNESS_TIMEOUT, default 10 s).
  std::chrono::milliseconds connect_timeout{10'000};
  // How long to wait for the reply; nullopt waits as long as it takes (exec has its own).
  std::optional<std::chrono::milliseconds> read_timeout;
};

// ClientOptions for `worktree` from the environment: the socket from
// resolve_socket(worktree, socket_flag), connect_timeout from $HARNESS_TIMEOUT (seconds),
// check_worktree off when $HARNESS_ANY_WORKTREE is 1, expected_store from $HARNESS_STORE and
// $HARNESS_PLAN when either is set.
ClientOptions client_options_from_env(
    const std::filesystem::path& worktree,
    const std::optional<std::filesystem::path>& socket_flag = std::nullopt);

// Thrown when no daemon listens and the options forbid starting one.
class DaemonNotRunning : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Sends one request line (no newline) and returns the daemon's reply line (no newline). If
// nothing listens at connect time (ENOENT/ECONNREFUSED) and a worktree is given, starts a
// daemon and waits until it listens (or, when it exits at once, reports why, with the end of
// its log), within connect_timeout. A file at the socket path that is not a socket is an Error
// at once. With check_worktree, the daemon's worktree is checked first (its ping reply, on the
// same connection) and a daemon serving another one is refused with an Error::conflict. A
// request is sent at most once: a failure after sending — read timeout, lost connection — is
// an Error, never a reason to send again, because the daemon may already have acted on it.
// Throws Error or DaemonNotRunning.
std::string send_line(const ClientOptions& options, std::string_view request_line);

// The daemon's answer to a request of type R: its command's response, or the error it gave.
template <typename R>
using AnswerTo = std::variant<ErrorAnswer, typename CommandFor<R>::Response>;

// Sends `request` (send_line) and reads the answer; throws as send_line does, and Error::io
// when the reply is not one this version understands.
template <typename R>
AnswerTo<R> call(const ClientOptions& options, const R& request) {
  using Response = typename CommandFor<R>::Response;
  const ReplyEnvelope reply = parse_reply(send_line(options, encode_request(request)));
  if (!reply.ok) return ErrorAnswer{reply.message};
  return Response::from_json(reply.data);
}

}  // namespace harness
