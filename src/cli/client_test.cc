#include "cli/client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>

#include <gtest/gtest.h>

#include "core/error.h"

namespace harness {
namespace {

// A listener that reads requests and never answers, counting connections and bytes.
class MuteServer {
 public:
  MuteServer() {
    char pattern[] = "/tmp/harness-client-XXXXXX";
    dir_ = ::mkdtemp(pattern);
    path_ = dir_ / "s.sock";
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, path_.c_str());
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(fd_, 16), 0);
    thread_ = std::thread([this] { serve(); });
  }
  ~MuteServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
    std::filesystem::remove_all(dir_);
  }
  const std::filesystem::path& path() const { return path_; }
  int connections() const { return connections_; }
  std::size_t bytes() const { return bytes_; }

 private:
  void serve() {
    for (;;) {
      const int client = ::accept(fd_, nullptr, nullptr);
      if (client < 0) return;
      ++connections_;
      char buf[4096];
      ssize_t n;
      while ((n = ::recv(client, buf, sizeof buf, 0)) > 0) bytes_ += static_cast<std::size_t>(n);
      ::close(client);
    }
  }

  std::filesystem::path dir_, path_;
  int fd_;
  std::atomic<int> connections_{0};
  std::atomic<std::size_t> bytes_{0};
  std::thread thread_;
};

TEST(Client, ReadTimeoutIsAnErrorAndTheRequestIsNeverSentTwice) {
  MuteServer server;
  ClientOptions options;
  options.socket = server.path();
  options.read_timeout = std::chrono::milliseconds(200);
  const std::string request = R"({"command":"exec","args":["touch","x"]})";
  try {
    send_line(options, request);
    FAIL() << "no reply was expected";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no reply"), std::string::npos) << e.what();
  }
  EXPECT_EQ(server.connections(), 1);
  EXPECT_EQ(server.bytes(), request.size() + 1);  // one line, once
}

TEST(Client, NobodyListeningWithoutWorktreeMeansNotRunning) {
  ClientOptions options;
  options.socket = "/tmp/harness-client-missing-" + std::to_string(::getpid()) + ".sock";
  EXPECT_THROW(send_line(options, encode_request(PingRequest{})), DaemonNotRunning);
}

TEST(Client, TimeoutComesFromTheEnvironment) {
  ::setenv("HARNESS_SOCKET", "/tmp/x.sock", 1);
  ::setenv("HARNESS_TIMEOUT", "2.5", 1);
  ClientOptions options = client_options_from_env("/tmp");
  EXPECT_EQ(options.connect_timeout, std::chrono::milliseconds(2500));
  EXPECT_EQ(options.socket, "/tmp/x.sock");
  ::setenv("HARNESS_TIMEOUT", "soon", 1);
  EXPECT_THROW(client_options_from_env("/tmp"), Error);
  ::unsetenv("HARNESS_TIMEOUT");
  ::unsetenv("HARNESS_SOCKET");
}

}  // namespace
}  // namespace harness
