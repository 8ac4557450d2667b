#include "fixture.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "exec/subprocess.h"

extern char** environ;

namespace harness::testing {

namespace fs = std::filesystem;

namespace {

void git(const fs::path& dir, std::vector<std::string> args) {
  CommandSpec spec;
  spec.args = {"git", "-c", "user.name=test", "-c", "user.email=test@localhost"};
  spec.args.insert(spec.args.end(), args.begin(), args.end());
  spec.cwd = dir.string();
  if (run_command(spec).returncode != 0) throw std::runtime_error("git failed in " + dir.string());
}

int connect_socket(const fs::path& socket) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket.c_str(), sizeof addr.sun_path - 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

ScratchWorktree::ScratchWorktree() {
  char pattern[] = "/tmp/harness-it-XXXXXX";
  if (!::mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
  root_ = pattern;
  path_ = root_ / "repo";
  socket_ = root_ / "d.sock";
  fs::create_directory(path_);
  git(path_, {"init", "-q"});
  git(path_, {"commit", "-q", "--allow-empty", "-m", "initial"});
}

ScratchWorktree::~ScratchWorktree() {
  std::error_code ignored;
  fs::remove_all(root_, ignored);
}

bool wait_until_listening(const fs::path& socket, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    const int fd = connect_socket(socket);
    if (fd >= 0) {
      ::close(fd);
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling another process's state
  }
  return false;
}

DaemonProcess::DaemonProcess(const fs::path& socket, const fs::path& worktree) {
  std::vector<std::string> args{HARNESS_BINARY,  "daemon",     "--socket",
                                socket.string(), "--worktree", worktree.string()};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO,
                                   (worktree.parent_path() / "daemon.err").c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0600);
  const int rc = posix_spawn(&pid_, HARNESS_BINARY, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot spawn the daemon");
  if (!wait_until_listening(socket)) throw std::runtime_error("the daemon did not start listening");
}

DaemonProcess::~DaemonProcess() {
  if (pid_ > 0) kill_hard();
}

void DaemonProcess::kill_hard() {
  ::kill(pid_, SIGKILL);
  wait();
}

int DaemonProcess::terminate_and_wait() {
  ::kill(pid_, SIGTERM);
  return wait();
}

int DaemonProcess::wait() {
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  return status;
}

Connection::Connection(const fs::path& socket) : fd_(connect_socket(socket)) {
  if (fd_ < 0) throw std::runtime_error("cannot connect to " + socket.string());
}

Connection::~Connection() {
  if (fd_ >= 0) ::close(fd_);
}

Connection::Connection(Connection&& other) noexcept
    : fd_(other.fd_), pending_(std::move(other.pending_)) {
  other.fd_ = -1;
}

void Connection::send_raw(const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) throw std::runtime_error("send failed");
    sent += static_cast<std::size_t>(n);
  }
}

std::string Connection::read_line() {
  char buf[65536];
  std::size_t searched = 0;  // a long reply arrives in many pieces: search each piece once
  for (;;) {
    if (auto nl = pending_.find('\n', searched); nl != std::string::npos) {
      std::string line = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      return line;
    }
    searched = pending_.size();
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return "";
    pending_.append(buf, static_cast<std::size_t>(n));
  }
}

Json Connection::call(const Json& request) { return parse_json(this->request(request.dump())); }

CliResult run_harness(const std::vector<std::string>& args, const fs::path& socket,
                      const fs::path& worktree, const std::map<std::string, std::string>& env) {
  CommandSpec spec;
  spec.args = {HARNESS_BINARY};
  spec.args.insert(spec.args.end(), args.begin(), args.end());
  spec.env = env;
  spec.env["HARNESS_SOCKET"] = socket.string();
  spec.env["HARNESS_WORKTREE"] = worktree.string();
  spec.cwd = worktree.string();
  spec.timeout = std::chrono::seconds(60);
  const CommandResult r = run_command(spec);
  return CliResult{r.returncode, r.stdout_text, r.stderr_text};
}

Json independent_tasks_request(int n) {
  Json tasks = Json::object();
  for (int i = 0; i < n; ++i) {
    const std::string id = "t" + std::to_string(i);
    append_member(tasks, id, Json{{"id", id}, {"description", "task " + id}});
  }
  return Json{{"command", "update_state"}, {"updates", {{"tasks", tasks}}}};
}

}  // namespace harness::testing
