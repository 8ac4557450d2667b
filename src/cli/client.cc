#include "cli/client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "cli/daemon_spawn.h"
#include "cli/paths.h"
#include "core/error.h"
#include "log/trajectory_reader.h"
#include "store/state_dir.h"

namespace harness {

namespace {

using Clock = std::chrono::steady_clock;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Returns a connected socket, or -1 with errno set.
int try_connect(const std::filesystem::path& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.string().size() >= sizeof addr.sun_path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  std::strcpy(addr.sun_path, path.c_str());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return fd;
  const int err = errno;
  ::close(fd);
  errno = err;
  return -1;
}

bool nobody_listening(int err) { return err == ENOENT || err == ECONNREFUSED; }

std::string last_log_line(const std::filesystem::path& worktree) {
  auto lines = read_last_lines(daemon_log_path(worktree), 1);
  return lines.empty() ? "" : " (daemon.log: " + lines.back() + ")";
}

int connect_or_spawn(const ClientOptions& options) {
  int fd = try_connect(options.socket);
  if (fd >= 0) return fd;
  if (!nobody_listening(errno))
    throw Error::from_errno("cannot connect to " + options.socket.string());
  if (options.worktree.empty()) throw DaemonNotRunning("Daemon not running");

  spawn_daemon(options.socket, options.worktree);
  const auto deadline = Clock::now() + options.connect_timeout;
  auto backoff = std::chrono::milliseconds(2);
  for (;;) {
    // Waiting for another process to start listening: there is nothing to await but time.
    std::this_thread::sleep_for(backoff);
    fd = try_connect(options.socket);
    if (fd >= 0) return fd;
    if (!nobody_listening(errno))
      throw Error::from_errno("cannot connect to " + options.socket.string());
    if (Clock::now() >= deadline)
      throw Error::io("the daemon did not start within " +
                      std::to_string(options.connect_timeout.count()) + " ms" +
                      last_log_line(options.worktree));
    backoff = std::min(backoff * 2, std::chrono::milliseconds(250));
  }
}

// Sends the request. Returns false when the daemon closed the connection before taking all of
// it (it refuses over-long lines that way): its reply, which says why, is still to be read.
bool send_all(int fd, const std::string& data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) return false;
    if (n < 0) throw Error::from_errno("cannot send the request");
    sent += static_cast<std::size_t>(n);
  }
  return true;
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
    reply.append(buf, static_cast<std::size_t>(n));
    if (auto nl = reply.find('\n'); nl != std::string::npos) {
      reply.resize(nl);
      return reply;
    }
  }
}

}  // namespace

ClientOptions client_options_from_env(const std::filesystem::path& worktree) {
  ClientOptions options;
  options.worktree = worktree;
  options.socket = resolve_socket(worktree);
  if (const char* t = std::getenv("HARNESS_TIMEOUT"); t && *t) {
    char* end = nullptr;
    const double seconds = std::strtod(t, &end);
    if (*end != '\0' || !(seconds > 0))
      throw Error::invalid("HARNESS_TIMEOUT must be a positive number of seconds");
    options.connect_timeout = std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
  }
  return options;
}

Json send_request(const ClientOptions& options, const Json& request) {
  Fd fd(connect_or_spawn(options));
  check_daemon_owner(fd.get(), options.socket);
  const bool delivered =
      send_all(fd.get(), request.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n");
  try {
    return parse_json(read_line(fd.get(), options.read_timeout));
  } catch (const Error&) {
    if (delivered) throw;
    throw Error::io("the daemon closed the connection before taking the whole request");
  }
}

}  // namespace harness
