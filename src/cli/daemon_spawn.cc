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
[[noreturn]] void become_daemon(const char* program, char* const argv[], int null_fd, int log_fd) {
  ::setsid();
  const pid_t grandchild = ::fork();
  if (grandchild != 0) ::_exit(grandchild < 0 ? 1 : 0);  // the daemon is reparented to init
  ::dup2(null_fd, STDIN_FILENO);
  ::dup2(log_fd, STDOUT_FILENO);
  ::dup2(log_fd, STDERR_FILENO);
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

void spawn_daemon(const fs::path& socket, const fs::path& worktree) {
  ensure_state_dir(worktree);
  const std::string program = daemon_program().string();
  std::vector<std::string> args{program,         "daemon",     "--socket",
                                socket.string(), "--worktree", worktree.string()};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const int log_fd = ::open(daemon_log_path(worktree).c_str(),
                            O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (null_fd < 0 || log_fd < 0) {
    const Error error =
        Error::from_errno("cannot prepare the daemon's files in " + state_dir(worktree).string());
    if (null_fd >= 0) ::close(null_fd);
    if (log_fd >= 0) ::close(log_fd);
    throw error;
  }
  const pid_t child = ::fork();
  if (child == 0) become_daemon(program.c_str(), argv.data(), null_fd, log_fd);
  const int fork_errno = errno;
  ::close(null_fd);
  ::close(log_fd);
  if (child < 0) {
    errno = fork_errno;
    throw Error::from_errno("cannot fork the daemon");
  }
  int status;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace harness
