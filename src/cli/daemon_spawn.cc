#include "cli/daemon_spawn.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mutex>
#include <string>
#include <vector>

#include "core/error.h"
#include "store/state_dir.h"

namespace harness {

namespace fs = std::filesystem;

namespace {

std::mutex program_mutex;
fs::path configured_program;

// Between fork and exec only async-signal-safe calls: everything is prepared beforehand.
[[noreturn]] void become_daemon(const char* program, char* const argv[], int null_fd, int log_fd,
                                int ready_fd) {
  ::setsid();
  const pid_t grandchild = ::fork();
  if (grandchild != 0) ::_exit(grandchild < 0 ? 1 : 0);  // the daemon is reparented to init
  ::dup2(null_fd, STDIN_FILENO);
  ::dup2(log_fd, STDOUT_FILENO);
  ::dup2(log_fd, STDERR_FILENO);
  // dup2 clears close-on-exec, except when the descriptor is already the one asked for.
  if (ready_fd == kDaemonReadyFd) {
    ::fcntl(kDaemonReadyFd, F_SETFD, 0);
  } else {
    ::dup2(ready_fd, kDaemonReadyFd);
  }
  ::execv(program, argv);
  static const char message[] = "harness: cannot start the daemon program\n";
  [[maybe_unused]] auto n = ::write(log_fd, message, sizeof message - 1);
  ::_exit(127);
}

}  // namespace

void set_daemon_program(const fs::path& program) {
  std::lock_guard lock(program_mutex);
  configured_program = program;
}

fs::path daemon_program() {
  std::lock_guard lock(program_mutex);
  if (!configured_program.empty()) return configured_program;
  return fs::read_symlink("/proc/self/exe");
}

UniqueFd spawn_daemon(const fs::path& socket, const fs::path& worktree) {
  ensure_state_dir(worktree);
  const std::string program = daemon_program().string();
  std::vector<std::string> args{
      program,      "daemon",          "--socket",   socket.string(),
      "--worktree", worktree.string(), "--ready-fd", std::to_string(kDaemonReadyFd)};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  UniqueFd null_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  UniqueFd log_fd(::open(daemon_log_path(worktree).c_str(),
                         O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  int ready[2] = {-1, -1};
  if (!null_fd || !log_fd || ::pipe2(ready, O_CLOEXEC) != 0)
    throw Error::from_errno("cannot prepare the daemon's files in " + state_dir(worktree).string());
  UniqueFd ready_read(ready[0]), ready_write(ready[1]);
  const pid_t child = ::fork();
  if (child == 0)
    become_daemon(program.c_str(), argv.data(), null_fd.get(), log_fd.get(), ready_write.get());
  const int fork_errno = errno;
  if (child < 0) {
    errno = fork_errno;
    throw Error::from_errno("cannot fork the daemon");
  }
  int status;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  return ready_read;  // the write end closes here: from now on only the daemon holds it
}

}  // namespace harness
