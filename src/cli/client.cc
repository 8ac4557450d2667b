#include "cli/client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "cli/daemon_spawn.h"
#include "cli/paths.h"
#include "core/error.h"
#include "core/posix.h"
#include "log/trajectory_reader.h"
#include "protocol/envelope.h"
#include "server/daemon_lock.h"
#include "store/state_dir.h"
#include "store/store_location.h"

namespace harness {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

bool nobody_listening(int err) { return err == ENOENT || err == ECONNREFUSED; }

// Connecting to a regular file or a directory fails as connecting to a stale socket does, but
// no daemon may replace it (the daemon refuses to): say so at once.
void refuse_non_socket(const fs::path& socket) {
  struct stat st;
  if (::lstat(socket.c_str(), &st) != 0 || S_ISSOCK(st.st_mode)) return;
  const char* kind = S_ISDIR(st.st_mode)   ? "a directory"
                     : S_ISREG(st.st_mode) ? "a regular file"
                     : S_ISLNK(st.st_mode) ? "a symbolic link to no listening socket"
                                           : "not a socket";
  throw Error::invalid("the socket path " + socket.string() + " is " + kind +
                       "; harness never replaces it: remove it or choose another socket path "
                       "(HARNESS_SOCKET, --socket)");
}

// What the daemon wrote to its log from `offset` on (its last 2,000 bytes), as ": <text>".
std::string log_since(const fs::path& log, std::uint64_t offset) {
  std::ifstream in(log, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(offset));
  std::stringstream text;
  text << in.rdbuf();
  std::string tail = text.str();
  if (tail.size() > 2000) tail = "..." + tail.substr(tail.size() - 2000);
  while (!tail.empty() && (tail.back() == '\n' || tail.back() == ' ')) tail.pop_back();
  return tail.empty() ? " (daemon.log says nothing)" : "; daemon.log:\n" + tail;
}

// Tries to connect until `deadline`; then throws Error::io(why_not()).
UniqueFd connect_until(const fs::path& socket, Clock::time_point deadline,
                       const std::function<std::string()>& why_not) {
  auto backoff = std::chrono::milliseconds(2);
  for (;;) {
    if (UniqueFd fd = connect_unix_socket(socket)) return fd;
    if (!nobody_listening(errno)) throw Error::from_errno("cannot connect to " + socket.string());
    if (Clock::now() >= deadline) throw Error::io(why_not());
    // Waiting for another process to start listening: there is nothing to await but time.
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(250));
  }
}

enum class Startup { kReady, kBusy, kExited, kTimedOut };

// Reads what a spawned daemon says on its readiness pipe (spawn_daemon, `harness daemon`).
Startup await_daemon(int ready_fd, Clock::time_point deadline) {
  std::string said;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return Startup::kTimedOut;
    pollfd p{ready_fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left));
    if (ready < 0 && errno != EINTR) throw Error::from_errno("cannot wait for the daemon");
    if (ready <= 0) continue;
    char buf[64];
    const ssize_t n = ::read(ready_fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error::from_errno("cannot wait for the daemon");
    said.append(buf, static_cast<std::size_t>(n));
    if (n > 0 && said.find('\n') == std::string::npos) continue;
    if (said.starts_with("ready\n")) return Startup::kReady;
    if (said.starts_with("busy\n")) return Startup::kBusy;
    return Startup::kExited;
  }
}

// Another daemon holds the worktree: reach it if it serves our socket (it is starting, or is
// making its deleted socket again), else say where it is. Throws Error.
UniqueFd reach_holder(const ClientOptions& options, Clock::time_point deadline) {
  const std::optional<DaemonInfo> holder = read_daemon_info(options.worktree);
  const std::string socket = options.socket.string();
  if (holder && holder->socket.lexically_normal() != options.socket.lexically_normal())
    throw Error::conflict(
        "Another daemon (pid " + std::to_string(holder->pid) + ") already serves " +
        holder->worktree.string() + ", on socket " + holder->socket.string() + ", not on " +
        socket + " ($HARNESS_SOCKET or $XDG_RUNTIME_DIR differ from when it started). Reach it " +
        "with `HARNESS_SOCKET=" + holder->socket.string() + " harness ...`, or stop it with " +
        "`HARNESS_SOCKET=" + holder->socket.string() + " harness shutdown`");
  return connect_until(options.socket, deadline, [&] {
    return "another daemon" + (holder ? " (pid " + std::to_string(holder->pid) + ")" : "") +
           " holds the state of " + options.worktree.string() + " but does not answer on " + socket;
  });
}

UniqueFd connect_or_spawn(const ClientOptions& options) {
  if (UniqueFd fd = connect_unix_socket(options.socket)) return fd;
  const int connect_errno = errno;
  refuse_non_socket(options.socket);
  errno = connect_errno;
  if (!nobody_listening(errno))
    throw Error::from_errno("cannot connect to " + options.socket.string());
  if (options.worktree.empty()) throw DaemonNotRunning("Daemon not running");
  if (!options.autospawn) {
    // A daemon whose socket file was deleted makes it again within a second or two.
    const std::optional<DaemonInfo> holder = read_daemon_info(options.worktree);
    if (!holder || !holder_alive(*holder)) throw DaemonNotRunning("Daemon not running");
    try {
      return reach_holder(options, Clock::now() + std::min(options.connect_timeout,
                                                           std::chrono::milliseconds(5000)));
    } catch (const Error& e) {
      if (e.kind() == Error::Kind::kConflict) throw;
      throw DaemonNotRunning("Daemon not running on " + options.socket.string() + " (" + e.what() +
                             ")");
    }
  }

  const auto deadline = Clock::now() + options.connect_timeout;
  const fs::path log = daemon_log_path(options.worktree);
  const std::uint64_t log_offset = file_size_or_zero(log);
  const UniqueFd ready = spawn_daemon(options.socket, options.worktree);
  switch (await_daemon(ready.get(), deadline)) {
    case Startup::kReady:
      return connect_until(options.socket, deadline, [&] {
        return "the daemon started but does not answer on " + options.socket.string();
      });
    case Startup::kBusy:  // lost a race with another client's daemon, or one is unreachable
      return reach_holder(options, deadline);
    case Startup::kExited:
      throw Error::io("the daemon exited before it started serving" + log_since(log, log_offset));
    case Startup::kTimedOut:
      break;
  }
  throw Error::io("the daemon did not start within " +
                  std::to_string(options.connect_timeout.count()) + " ms" +
                  log_since(log, log_offset));
}

// Sends the request. Returns false when the daemon closed the connection before taking all of
// it (it refuses over-long lines that way): its reply, which says why, is still to be read.
bool deliver(int fd, const std::string& data) {
  if (send_all(fd, data) == data.size()) return true;
  if (errno == EPIPE || errno == ECONNRESET) return false;
  throw Error::from_errno("cannot send the request");
}

// The daemon must run as this user: with HARNESS_SOCKET in a shared directory, anyone could
// otherwise answer in its place (and be handed every command).
void check_daemon_owner(int fd, const std::filesystem::path& socket) {
  struct ucred peer;
  socklen_t len = sizeof peer;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &len) != 0)
    throw Error::from_errno("cannot identify the daemon on " + socket.string());
  if (peer.uid != ::geteuid())
    throw Error::io("the daemon on " + socket.string() + " runs as uid " +
                    std::to_string(peer.uid) + ", not as you; refusing to talk to it");
}

std::string read_line(int fd, const std::optional<std::chrono::milliseconds>& timeout) {
  const auto deadline = timeout ? std::optional(Clock::now() + *timeout) : std::nullopt;
  std::string reply;
  char buf[65536];
  for (;;) {
    int wait_ms = -1;
    if (deadline) {
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - Clock::now()).count();
      if (left <= 0)
        throw Error::io("no reply from the daemon within " + std::to_string(timeout->count()) +
                        " ms");
      wait_ms = static_cast<int>(left);
    }
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, wait_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) throw Error::from_errno("cannot wait for the reply");
    if (ready == 0) continue;  // the deadline check above reports it
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error::from_errno("cannot read the reply");
    if (n == 0) throw Error::io("the daemon closed the connection without replying");
    const std::size_t searched = reply.size();  // a long reply is searched once, not per read
    reply.append(buf, static_cast<std::size_t>(n));
    if (auto nl = reply.find('\n', searched); nl != std::string::npos) {
      reply.resize(nl);
      return reply;
    }
  }
}

std::string exchange(int fd, std::string_view request_line,
                     const std::optional<std::chrono::milliseconds>& timeout) {
  std::string line(request_line);
  line += '\n';
  const bool delivered = deliver(fd, line);
  try {
    return read_line(fd, timeout);
  } catch (const Error&) {
    if (delivered) throw;
    throw Error::io("the daemon closed the connection before taking the whole request");
  }
}

bool same_directory(const fs::path& a, const fs::path& b) {
  struct stat sa, sb;
  if (::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0)
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
  return a.lexically_normal() == b.lexically_normal();
}

// Refuses a daemon whose ping reply names another worktree than the client's.
void check_daemon_worktree(std::string_view ping_reply, const ClientOptions& options) {
  const ReplyEnvelope ping = parse_reply(ping_reply);
  if (!ping.ok) return;  // the request's own reply says what is wrong
  const fs::path theirs = PingResponse::from_json(ping.data).worktree;
  // Two directories of one repository share its state, hence its daemon.
  if (same_directory(theirs, options.worktree) ||
      same_directory(state_dir(theirs), state_dir(options.worktree)))
    return;
  throw Error::conflict("the daemon on " + options.socket.string() + " serves " + theirs.string() +
                        ", not this worktree (" + options.worktree.string() +
                        "); nothing was sent to it. Unset HARNESS_SOCKET (or give this " +
                        "worktree's socket with --socket) to reach this worktree's daemon, or " +
                        "pass --any-worktree (HARNESS_ANY_WORKTREE=1) to use that one anyway");
}

// Refuses a daemon keeping its plan elsewhere than the environment says: the variables would
// otherwise be ignored silently, and the work go to another plan.
void check_daemon_store(std::string_view ping_reply, const ClientOptions& options) {
  if (!options.expected_store) return;
  const ReplyEnvelope ping = parse_reply(ping_reply);
  if (!ping.ok) return;
  const std::optional<std::string> theirs = PingResponse::from_json(ping.data).store;
  if (!theirs || *theirs == *options.expected_store) return;
  throw Error::conflict("the daemon of this worktree keeps its plan in " + *theirs + ", not in " +
                        *options.expected_store +
                        " as HARNESS_STORE/HARNESS_PLAN say; nothing was sent to it. Stop it " +
                        "(`harness shutdown`) and run the command again to start one there");
}

}  // namespace

ClientOptions client_options_from_env(const std::filesystem::path& worktree,
                                      const std::optional<std::filesystem::path>& socket_flag) {
  ClientOptions options;
  options.worktree = worktree;
  options.socket = resolve_socket(worktree, socket_flag);
  if (const char* t = std::getenv("HARNESS_TIMEOUT"); t && *t) {
    char* end = nullptr;
    const double seconds = std::strtod(t, &end);
    if (*end != '\0' || !(seconds > 0))
      throw Error::invalid("HARNESS_TIMEOUT must be a positive number of seconds");
    options.connect_timeout = std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
  }
  if (const char* any = std::getenv("HARNESS_ANY_WORKTREE"); any && *any && std::string(any) != "0")
    options.check_worktree = false;
  for (const char* name : {"HARNESS_STORE", "HARNESS_PLAN"})
    if (const char* set = std::getenv(name); set && *set)
      options.expected_store = choose_store_location(worktree).describe();
  return options;
}

std::string send_line(const ClientOptions& options, std::string_view request_line) {
  const UniqueFd fd = connect_or_spawn(options);
  check_daemon_owner(fd.get(), options.socket);
  const bool check = options.check_worktree && !options.worktree.empty();
  const std::string ping = encode_request(PingRequest{});
  const bool is_ping = request_line == ping;
  // One more round trip on the same connection, before anything that could change state.
  const auto check_daemon = [&](std::string_view ping_reply) {
    check_daemon_worktree(ping_reply, options);
    check_daemon_store(ping_reply, options);
  };
  if (check && !is_ping) check_daemon(exchange(fd.get(), ping, options.connect_timeout));
  std::string reply = exchange(fd.get(), request_line, options.read_timeout);
  if (check && is_ping) check_daemon(reply);
  return reply;
}

}  // namespace harness
