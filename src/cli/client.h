// The client side of the protocol: one request, one reply, over a fresh connection, with the
// daemon started on demand (DESIGN §1, watchman-style).
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>

#include "core/json.h"

namespace harness {

struct ClientOptions {
  std::filesystem::path socket;
  std::filesystem::path worktree;  // where an auto-spawned daemon serves; empty: never spawn
  // How long to keep trying to reach a daemon that is starting ($HARNESS_TIMEOUT, default 10 s).
  std::chrono::milliseconds connect_timeout{10'000};
  // How long to wait for the reply; nullopt waits as long as it takes (exec has its own).
  std::optional<std::chrono::milliseconds> read_timeout;
};

// ClientOptions for `worktree` from the environment: the socket from resolve_socket and
// connect_timeout from $HARNESS_TIMEOUT (seconds).
ClientOptions client_options_from_env(const std::filesystem::path& worktree);

// Thrown when no daemon listens and the options forbid starting one.
class DaemonNotRunning : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Sends `request` and returns the parsed reply envelope. If nothing listens at connect time
// (ENOENT/ECONNREFUSED) and a worktree is given, starts a daemon and retries with doubling
// backoff until connect_timeout. A request is sent at most once: a failure after sending —
// read timeout, lost connection — is an Error, never a reason to send again, because the
// daemon may already have acted on it. Throws Error or DaemonNotRunning.
Json send_request(const ClientOptions& options, const Json& request);

}  // namespace harness
