#include "testing/test_daemon.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

extern char** environ;

namespace harness::test_support {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

// The descriptor the daemon inherits its readiness pipe on.
constexpr int kReadyFd = 3;

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// What the daemon wrote on its readiness pipe before closing it, or "" when `deadline`
// passed first (`timed_out` set).
std::string read_until_closed(int fd, Clock::time_point deadline, bool& timed_out) {
  std::string said;
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    timed_out = left.count() <= 0;
    if (timed_out) return said;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[64];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return said;
    said.append(buf, static_cast<std::size_t>(n));
    if (said.find('\n') != std::string::npos) return said;
  }
}

}  // namespace

TestDaemon::TestDaemon(const fs::path& socket, const fs::path& worktree,
                       const fs::path& stderr_file, Launch,
                       const std::vector<std::string>& daemon_options)
    : stderr_file_(stderr_file) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  ready_.reset(pipe_fds[0]);
  UniqueFd write_end(pipe_fds[1]);
  if (write_end.get() == kReadyFd)  // dup2 onto itself would leave it close-on-exec
    write_end.reset(::fcntl(pipe_fds[1], F_DUPFD_CLOEXEC, kReadyFd + 1));
  std::vector<std::string> args{
      HARNESS_BINARY, "daemon",          "--socket",   socket.string(),
      "--worktree",   worktree.string(), "--ready-fd", std::to_string(kReadyFd)};
  args.insert(args.end(), daemon_options.begin(), daemon_options.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_file.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), kReadyFd);
  const int rc = posix_spawn(&pid_, HARNESS_BINARY, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot spawn the daemon");
}

TestDaemon::TestDaemon(const fs::path& socket, const fs::path& worktree)
    : TestDaemon(socket, worktree, std::vector<std::string>{}) {}

TestDaemon::TestDaemon(const fs::path& socket, const fs::path& worktree,
                       const std::vector<std::string>& daemon_options)
    : TestDaemon(socket, worktree, worktree.parent_path() / "daemon.err", Launch{},
                 daemon_options) {
  switch (await()) {
    case Outcome::kListening:
      return;
    case Outcome::kExited:
      throw std::runtime_error("the daemon exited before it listened: " + read_text(stderr_file_));
    case Outcome::kTimedOut:
      throw std::runtime_error("the daemon did not listen in time: " + read_text(stderr_file_));
  }
}

TestDaemon TestDaemon::launch(const fs::path& socket, const fs::path& worktree,
                              const fs::path& stderr_file) {
  return TestDaemon(socket, worktree, stderr_file, Launch{});
}

TestDaemon::TestDaemon(TestDaemon&& other) noexcept
    : stderr_file_(std::move(other.stderr_file_)),
      ready_(std::move(other.ready_)),
      pid_(std::exchange(other.pid_, -1)),
      status_(other.status_) {}

TestDaemon::~TestDaemon() { kill_hard(); }

TestDaemon::Outcome TestDaemon::await(std::chrono::milliseconds timeout) {
  if (pid_ < 0) return Outcome::kExited;
  if (!ready_) return Outcome::kListening;  // it said so before
  bool timed_out = false;
  const std::string said = read_until_closed(ready_.get(), Clock::now() + timeout, timed_out);
  if (timed_out) return Outcome::kTimedOut;
  ready_.reset();
  if (said == "ready\n") return Outcome::kListening;
  reap();  // "busy", or closed without a word: it is exiting
  return Outcome::kExited;
}

void TestDaemon::reap() {
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  status_ = status;
  pid_ = -1;
}

void TestDaemon::kill_hard() {
  if (pid_ < 0) return;
  ::kill(pid_, SIGKILL);
  reap();
}

int TestDaemon::terminate_and_wait() {
  if (pid_ < 0) return status_;
  ::kill(pid_, SIGTERM);
  return wait();
}

int TestDaemon::wait() {
  if (pid_ >= 0) reap();
  return status_;
}

}  // namespace harness::test_support
