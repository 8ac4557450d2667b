#include "process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "core/error.h"

extern char** environ;

namespace harness::bench {

namespace {

std::vector<std::string> merged_environment(const std::map<std::string, std::string>& overrides) {
  std::vector<std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string text(*entry);
    if (!overrides.contains(text.substr(0, text.find('=')))) env.push_back(text);
  }
  for (const auto& [name, value] : overrides) env.push_back(name + "=" + value);
  return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// posix_spawn's file actions, released however spawning ends.
class FileActions {
 public:
  explicit FileActions(const SpawnSpec& spec) : output_(spec.output.string()) {
    ::posix_spawn_file_actions_init(&actions_);
    if (output_.empty()) output_ = "/dev/null";
    ::posix_spawn_file_actions_addopen(&actions_, 0, "/dev/null", O_RDONLY, 0);
    ::posix_spawn_file_actions_addopen(&actions_, 1, output_.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                       0600);
    ::posix_spawn_file_actions_adddup2(&actions_, 1, 2);
  }
  ~FileActions() { ::posix_spawn_file_actions_destroy(&actions_); }
  const posix_spawn_file_actions_t* get() const { return &actions_; }

 private:
  posix_spawn_file_actions_t actions_;
  std::string output_;
};

}  // namespace

ChildProcess::ChildProcess(const SpawnSpec& spec) {
  if (spec.args.empty()) throw Error::invalid("nothing to spawn");
  std::vector<std::string> args = spec.args;
  std::vector<std::string> env = merged_environment(spec.env);
  std::vector<char*> argv = pointers(args), envp = pointers(env);
  const FileActions actions(spec);
  posix_spawnattr_t attributes;
  ::posix_spawnattr_init(&attributes);
  if (spec.new_session) ::posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSID);
  const int rc =
      ::posix_spawn(&pid_, args[0].c_str(), actions.get(), &attributes, argv.data(), envp.data());
  ::posix_spawnattr_destroy(&attributes);
  if (rc != 0) {
    errno = rc;
    throw Error::from_errno("cannot start " + args[0]);
  }
}

ChildProcess::~ChildProcess() {
  if (pid_ <= 0 || status_) return;
  ::kill(pid_, SIGKILL);
  int status;
  ::waitpid(pid_, &status, 0);
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(other.pid_), status_(other.status_) {
  other.pid_ = -1;
}

std::optional<int> ChildProcess::poll() {
  if (status_ || pid_ <= 0) return status_;
  int status;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) status_ = status;
  return status_;
}

int ChildProcess::wait() {
  while (!status_) {
    int status;
    if (::waitpid(pid_, &status, 0) == pid_)
      status_ = status;
    else if (errno != EINTR)
      throw Error::from_errno("cannot wait for process " + std::to_string(pid_));
  }
  return *status_;
}

std::optional<int> ChildProcess::wait_for(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  // Only our own short-lived children are waited for: polling at 1 ms costs nothing measured.
  while (!poll() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return status_;
}

void ChildProcess::kill(int signal) {
  if (pid_ > 0 && !status_) ::kill(pid_, signal);
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "wait status " + std::to_string(status);
}

}  // namespace harness::bench
