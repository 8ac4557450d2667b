#include "testing/socket_client.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace harness::test_support {

namespace {

using Clock = std::chrono::steady_clock;

// Waits until `fd` is ready for `events` or `deadline` passes (false).
bool await_ready(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, events, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready > 0) return true;
    if (ready < 0 && errno != EINTR)
      throw std::runtime_error(std::string("poll failed: ") + std::strerror(errno));
  }
}

std::string after(std::chrono::milliseconds deadline) {
  return " within " + std::to_string(deadline.count()) + " ms";
}

}  // namespace

SocketClient::SocketClient(const std::filesystem::path& socket, std::chrono::milliseconds deadline)
    : fd_(connect_unix_socket(socket)), deadline_(deadline) {
  if (!fd_)
    throw std::runtime_error("cannot connect to " + socket.string() + ": " + std::strerror(errno));
}

void SocketClient::send_raw(std::string_view bytes) {
  const auto deadline = Clock::now() + deadline_;
  while (!bytes.empty()) {
    if (!await_ready(fd_.get(), POLLOUT, deadline))
      throw std::runtime_error("the daemon did not take the request" + after(deadline_));
    const ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) throw std::runtime_error(std::string("send failed: ") + std::strerror(errno));
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::string SocketClient::read_line() {
  const auto deadline = Clock::now() + deadline_;
  char buf[65536];
  for (;;) {
    // A long reply arrives in many pieces: each piece is searched once.
    if (const auto nl = pending_.find('\n', searched_); nl != std::string::npos) {
      std::string line = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      searched_ = 0;
      return line;
    }
    searched_ = pending_.size();
    if (!await_ready(fd_.get(), POLLIN, deadline))
      throw std::runtime_error("no reply line from the daemon" + after(deadline_));
    const ssize_t n = ::recv(fd_.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return "";  // closed, or reset
    pending_.append(buf, static_cast<std::size_t>(n));
  }
}

std::string SocketClient::request(std::string_view line) {
  std::string bytes(line);
  bytes += '\n';
  send_raw(bytes);
  return read_line();
}

Json SocketClient::call(const Json& request) { return parse_json(this->request(request.dump())); }

std::string one_shot(const std::filesystem::path& socket, std::string_view line,
                     std::chrono::milliseconds timeout) {
  try {
    SocketClient client(socket, timeout);
    return client.request(line);
  } catch (const std::exception&) {
    return "";
  }
}

bool ping_ok(const std::filesystem::path& socket, std::chrono::milliseconds timeout) {
  const std::string reply = one_shot(socket, R"({"command":"ping"})", timeout);
  try {
    return !reply.empty() && parse_json(reply).value("status", "") == "ok";
  } catch (const std::exception&) {
    return false;
  }
}

Json independent_tasks_request(int n) {
  Json tasks = Json::object();
  for (int i = 0; i < n; ++i) {
    const std::string id = "t" + std::to_string(i);
    append_member(tasks, id, Json{{"id", id}, {"description", "task " + id}});
  }
  return Json{{"command", "update_state"}, {"updates", {{"tasks", tasks}}}};
}

}  // namespace harness::test_support
