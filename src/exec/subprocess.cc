#include "exec/subprocess.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/posix.h"
#include "exec/program_lookup.h"
#include "exec/reaper.h"
#include "exec/signal_name.h"

extern char** environ;

namespace harness {

namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// How long output is still collected once the child has exited, for a grandchild that keeps
// the pipes open: long enough for what is already in the pipes, short enough not to matter.
constexpr milliseconds kDrainAfterExit{200};
// Without a pidfd (a seccomp profile may forbid pidfd_open), how often we look for the exit.
constexpr milliseconds kExitPollInterval{10};
constexpr std::size_t kReadChunk = 64 * 1024;
// Reads per stream per wakeup, so that a chatty stream cannot starve the deadline checks.
constexpr int kReadsPerWakeup = 16;
// Longer timeouts and grace periods are cut to this, so that deadlines cannot overflow.
constexpr milliseconds kLongestWait = std::chrono::hours(24 * 365 * 100);

[[noreturn]] void throw_errno(int error, const std::string& what) {
  errno = error;
  throw Error::from_errno(what);
}

bool has_nul(const std::string& s) { return s.find('\0') != std::string::npos; }

void validate(const CommandSpec& spec) {
  if (spec.args.empty()) throw Error::invalid("a command needs at least a program name");
  for (const std::string& arg : spec.args) {
    if (has_nul(arg)) throw Error::invalid("a command argument contains a NUL byte");
  }
  if (has_nul(spec.cwd)) throw Error::invalid("the working directory contains a NUL byte");
  for (const auto& [name, value] : spec.env) {
    if (name.empty() || name.find('=') != std::string::npos || has_nul(name)) {
      throw Error::invalid("invalid environment variable name '" + name + "'");
    }
    if (has_nul(value)) {
      throw Error::invalid("environment variable '" + name + "' contains a NUL byte");
    }
  }
}

using Environment = std::map<std::string, std::string>;

// The child's whole environment: `spec.env`, laid over the daemon's when it inherits.
Environment child_environment(const CommandSpec& spec) {
  if (!spec.inherit_environment) return spec.env;
  Environment env = process_environment();
  for (const auto& [name, value] : spec.env) env[name] = value;
  return env;
}

std::vector<std::string> flatten(const Environment& env) {
  std::vector<std::string> entries;
  entries.reserve(env.size());
  for (const auto& [name, value] : env) entries.push_back(name + "=" + value);
  return entries;
}

std::optional<std::string> lookup(const Environment& env, const std::string& name) {
  const auto it = env.find(name);
  if (it == env.end()) return std::nullopt;
  return it->second;
}

// A NULL-terminated char* array over strings that outlive it, as exec wants.
class CStringArray {
 public:
  explicit CStringArray(const std::vector<std::string>& strings) {
    pointers_.reserve(strings.size() + 1);
    for (const std::string& s : strings) pointers_.push_back(const_cast<char*>(s.c_str()));
    pointers_.push_back(nullptr);
  }
  char* const* get() const { return pointers_.data(); }

 private:
  std::vector<char*> pointers_;
};

// Opens the child's working directory up front, so that a bad cwd is reported precisely;
// the child changes into it with fchdir. Returns an invalid fd with errno set on failure.
UniqueFd open_directory(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return fd;
  if (faccessat(fd.get(), ".", X_OK, AT_EACCESS) != 0) return UniqueFd();  // no search permission
  return fd;
}

// Moves `fd` to 3 or above: dup2 onto 0..2 in the child must never meet itself, which could
// happen if the daemon runs with its standard streams closed.
UniqueFd above_stdio(UniqueFd fd) {
  if (fd.get() > STDERR_FILENO) return fd;
  UniqueFd moved(fcntl(fd.get(), F_DUPFD_CLOEXEC, STDERR_FILENO + 1));
  if (!moved) throw Error::from_errno("fcntl(F_DUPFD_CLOEXEC)");
  return moved;
}

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

Pipe make_output_pipe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw Error::from_errno("pipe2");
  Pipe pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
  pipe.read = above_stdio(std::move(pipe.read));
  pipe.write = above_stdio(std::move(pipe.write));
  // Only our end is non-blocking: the child should simply block when we fall behind.
  const int flags = fcntl(pipe.read.get(), F_GETFL);
  if (flags < 0 || fcntl(pipe.read.get(), F_SETFL, flags | O_NONBLOCK) != 0) {
    throw Error::from_errno("fcntl(O_NONBLOCK)");
  }
  return pipe;
}

struct SpawnOutcome {
  pid_t pid = -1;
  int error = 0;  // why the program could not be started (from exec or fchdir in the child)
};

// What the child needs, prepared by the parent: the child may only make system calls.
struct ChildSetup {
  const char* program;
  char* const* argv;
  char* const* envp;
  int cwd_fd;     // -1: stay in the daemon's directory
  int stdout_fd;  // both above stderr (above_stdio)
  int stderr_fd;
  int error_fd;  // above stderr, close-on-exec: a failed start writes its errno here
  pid_t parent;
  int reaper_fd;        // -1: no reaper; else the child announces its group there
  int* announce_error;  // the child sets the errno of a failed announcement here
};

// Runs in the child, which shares the daemon's memory (and the suspended parent thread's TLS)
// until it execs: system calls only, through syscall(2) rather than libc's wrappers, which
// sanitizers intercept.
[[noreturn, gnu::no_sanitize("address", "thread", "undefined")]] void child_fail(
    const ChildSetup& c, int error) {
  syscall(SYS_write, c.error_fd, &error, sizeof error);
  while (true) syscall(SYS_exit, 127);
}

[[gnu::no_sanitize("address", "thread", "undefined")]] int child_main(void* arg) {
  const ChildSetup& c = *static_cast<const ChildSetup*>(arg);
  syscall(SYS_setsid);  // a new session: a new process group, no controlling terminal
  // If the daemon dies (even by SIGKILL), so does the command. The signal follows the thread
  // that started it, which waits for the command in run_command.
  if (syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) child_fail(c, errno);
  if (syscall(SYS_getppid) != c.parent) child_fail(c, ESRCH);  // the daemon is already gone
  // Its group goes on the reaper's list before the command can start anything, so that
  // nothing it starts outlives the daemon either. From here, if the daemon dies, the child is
  // SIGKILLed by the parent-death signal, and the reaper kills its group.
  if (c.reaper_fd >= 0) {
    char record[24];
    const std::size_t size =
        format_reaper_record('+', static_cast<pid_t>(syscall(SYS_getpid)), record);
    if (syscall(SYS_sendto, c.reaper_fd, record, size, MSG_NOSIGNAL, nullptr, 0) < 0) {
      *c.announce_error = errno;
    }
  }
  if (c.cwd_fd >= 0 && syscall(SYS_fchdir, c.cwd_fd) != 0) child_fail(c, errno);
  const long null_fd = syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDONLY);
  if (null_fd < 0) child_fail(c, errno);
  if (null_fd != STDIN_FILENO && syscall(SYS_dup3, null_fd, STDIN_FILENO, 0) < 0) {
    child_fail(c, errno);
  }
  if (syscall(SYS_dup3, c.stdout_fd, STDOUT_FILENO, 0) < 0 ||
      syscall(SYS_dup3, c.stderr_fd, STDERR_FILENO, 0) < 0) {
    child_fail(c, errno);
  }
  // A descriptor another thread opened without O_CLOEXEC (the daemon's lock file, a client
  // socket) must not live on in a command: all above stderr close on exec.
  if (syscall(SYS_close_range, STDERR_FILENO + 1, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    child_fail(c, errno);
  }
  // The daemon may block or ignore signals (SIGTERM for an orderly shutdown, SIGPIPE); the
  // command must start with a clean slate, or a timeout's SIGTERM would not reach it.
  struct KernelSigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)();
    std::uint64_t mask;
  };
  const KernelSigaction default_action{SIG_DFL, 0, nullptr, 0};
  for (int signum = 1; signum <= 64; ++signum) {
    if (signum != SIGKILL && signum != SIGSTOP) {
      syscall(SYS_rt_sigaction, signum, &default_action, nullptr, sizeof(std::uint64_t));
    }
  }
  const std::uint64_t no_signals = 0;
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &no_signals, nullptr, sizeof no_signals);
  syscall(SYS_execve, c.program, c.argv, c.envp);
  child_fail(c, errno);
}

// Like posix_spawn, which cannot set a parent-death signal: clone with CLONE_VM | CLONE_VFORK
// (no copy of the daemon's memory; this thread waits until the child has exec'd or failed).
SpawnOutcome spawn(const std::string& program, char* const* argv, char* const* envp, int cwd_fd,
                   int stdout_fd, int stderr_fd, const Reaper* reaper) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw Error::from_errno("pipe2");
  UniqueFd error_read(fds[0]);
  UniqueFd error_write = above_stdio(UniqueFd(fds[1]));
  int announce_error = 0;
  const ChildSetup setup{program.c_str(),
                         argv,
                         envp,
                         cwd_fd,
                         stdout_fd,
                         stderr_fd,
                         error_write.get(),
                         ::getpid(),
                         reaper ? reaper->fd() : -1,
                         &announce_error};
  constexpr std::size_t kStackSize = 64 * 1024;
  std::vector<char> stack(kStackSize);

  // No signal handler of the daemon may run in the child before it resets them.
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  const pid_t pid = clone(child_main, stack.data() + stack.size(), CLONE_VM | CLONE_VFORK | SIGCHLD,
                          const_cast<ChildSetup*>(&setup));
  const int clone_error = errno;
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (pid < 0) throw_errno(clone_error, "clone");
  if (announce_error != 0) reaper->report_failure(announce_error);

  error_write.reset();
  int error = 0;
  ssize_t n;
  while ((n = ::read(error_read.get(), &error, sizeof error)) < 0 && errno == EINTR) {
  }
  if (n == static_cast<ssize_t>(sizeof error)) {
    if (reaper) reaper->forget(pid);  // it has exited, unreaped: its group id is still its own
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    return {-1, error};
  }
  return {pid, 0};
}

std::int64_t elapsed_ms(SteadyClock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(SteadyClock::now() - start).count();
}

// What a shell reports: 127 for a command it cannot find (or, here, a bad cwd), 126 for one it
// found but cannot execute.
int cannot_start_status(int error) { return error == ENOENT || error == ENOTDIR ? 127 : 126; }

CommandResult cannot_start(const CommandSpec& spec, const std::string& reason,
                           SteadyClock::time_point start, int returncode = 127) {
  CommandResult result;
  result.returncode = returncode;
  result.stderr_text = "harness: cannot run '" + spec.args[0] + "': " + reason + "\n";
  result.duration_ms = elapsed_ms(start);
  return result;
}

// One output stream of the child, of which at most `cap` bytes are kept.
class Capture {
 public:
  Capture(UniqueFd fd, std::size_t cap) : fd_(std::move(fd)), cap_(cap) {}

  bool open() const { return static_cast<bool>(fd_); }
  int fd() const { return fd_.get(); }
  std::string& text() { return text_; }
  bool truncated() const { return truncated_; }

  // Reads what the pipe holds now (up to a limit); closes the stream at end of file.
  void read_available(char* buffer, std::size_t size) {
    for (int i = 0; i < kReadsPerWakeup && open(); ++i) {
      const ssize_t n = ::read(fd_.get(), buffer, size);
      if (n > 0) {
        keep(buffer, static_cast<std::size_t>(n));
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return;
      } else {
        fd_.reset();  // end of file, or an error a pipe should never give: the stream is over
      }
    }
  }

 private:
  void keep(const char* data, std::size_t n) {
    const std::size_t room = cap_ - std::min(cap_, text_.size());
    const std::size_t kept = std::min(room, n);
    // Reserved whole on the first byte: growing by reallocation would leave the outgrown
    // buffers behind in the allocator, while pages of the reservation that are never written
    // cost nothing.
    if (text_.empty() && kept > 0) text_.reserve(cap_);
    text_.append(data, kept);
    if (kept < n) truncated_ = true;
  }

  UniqueFd fd_;
  std::size_t cap_;
  std::string text_;
  bool truncated_ = false;
};

// Tells when the child has exited without reaping it: until we reap, its pid, and with it the
// process group id, cannot be reused, so signalling the group stays safe.
class ExitWatch {
 public:
  explicit ExitWatch(pid_t pid)
      : pid_(pid), pidfd_(static_cast<int>(syscall(SYS_pidfd_open, pid, 0))) {}

  // A descriptor that becomes readable when the child exits; -1 if the kernel gave us none,
  // and then the caller asks has_exited() every kExitPollInterval instead.
  int fd() const { return pidfd_.get(); }

  bool has_exited() const {
    siginfo_t info{};
    while (waitid(P_PID, pid_, &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
      if (errno != EINTR) return true;  // not waitable at all: nothing left to wait for
    }
    return info.si_pid == pid_;
  }

 private:
  pid_t pid_;
  UniqueFd pidfd_;
};

timespec to_timespec(SteadyClock::duration d) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
  if (ns <= 0) return {0, 0};
  return {static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
}

// Watches a started child until it has exited and its output is collected: reads both pipes,
// enforces the timeout and reacts to cancellation. If anything throws, the destructor kills
// the whole group and reaps the child, so nothing is left behind.
class Supervision {
 public:
  Supervision(pid_t pid, const CommandSpec& spec, UniqueFd stdout_fd, UniqueFd stderr_fd,
              int wake_fd, SteadyClock::time_point start, const Reaper* reaper)
      : pid_(pid),
        reaper_(reaper),
        watch_(pid),
        out_(std::move(stdout_fd), spec.output_cap),
        err_(std::move(stderr_fd), spec.output_cap),
        wake_fd_(wake_fd),
        start_(start),
        kill_grace_(std::clamp(spec.kill_grace, milliseconds{0}, kLongestWait)) {
    if (spec.timeout) deadline_ = start + std::clamp(*spec.timeout, milliseconds{0}, kLongestWait);
  }

  ~Supervision() {
    if (reaped_) return;
    signal_group(SIGKILL);
    forget_group();
    while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }

  Supervision(const Supervision&) = delete;
  Supervision& operator=(const Supervision&) = delete;

  void run() {
    while (true) {
      const auto now = SteadyClock::now();
      enforce_deadlines(now);
      if (exited_ && ((!out_.open() && !err_.open()) || now >= drain_until_)) return;
      wait_for_events(now);
    }
  }

  CommandResult finish() {
    signal_group(SIGKILL);  // whatever of the group outlived the command and its grace
    forget_group();
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0) {
      if (errno == EINTR) continue;
      reaped_ = true;  // whoever took it, it is gone: do not signal its group again
      throw Error::from_errno("waitpid");
    }
    reaped_ = true;

    CommandResult result;
    if (WIFSIGNALED(status)) {
      result.returncode = -WTERMSIG(status);
      result.signal_name = signal_name(WTERMSIG(status));
    } else {
      result.returncode = WEXITSTATUS(status);
    }
    result.stdout_text = std::move(out_.text());
    result.stderr_text = std::move(err_.text());
    result.stdout_truncated = out_.truncated();
    result.stderr_truncated = err_.truncated();
    result.timed_out = timed_out_;
    result.duration_ms = elapsed_ms(start_);
    return result;
  }

 private:
  void enforce_deadlines(SteadyClock::time_point now) {
    if (exited_) return;
    if (deadline_ && !terminating_ && now >= *deadline_) {
      timed_out_ = true;
      terminate(now);
    }
    if (terminating_ && !killed_ && now >= kill_at_) {
      signal_group(SIGKILL);
      killed_ = true;
    }
  }

  // The earliest moment something must happen without any descriptor becoming ready.
  std::optional<SteadyClock::time_point> next_wakeup(SteadyClock::time_point now) const {
    std::optional<SteadyClock::time_point> next;
    const auto consider = [&next](SteadyClock::time_point t) {
      if (!next || t < *next) next = t;
    };
    if (exited_) {
      consider(drain_until_);
      return next;
    }
    if (deadline_ && !terminating_) consider(*deadline_);
    if (terminating_ && !killed_) consider(kill_at_);
    if (watch_.fd() < 0) consider(now + kExitPollInterval);
    return next;
  }

  void wait_for_events(SteadyClock::time_point now) {
    std::array<pollfd, 4> fds{};
    nfds_t count = 0;
    const auto add = [&](int fd) -> int {
      fds[count] = pollfd{fd, POLLIN, 0};
      return static_cast<int>(count++);
    };
    const int out_slot = out_.open() ? add(out_.fd()) : -1;
    const int err_slot = err_.open() ? add(err_.fd()) : -1;
    const int exit_slot = !exited_ && watch_.fd() >= 0 ? add(watch_.fd()) : -1;
    const int wake_slot = !exited_ && !stop_seen_ ? add(wake_fd_) : -1;

    timespec timeout{};
    const timespec* timeout_ptr = nullptr;
    if (const auto next = next_wakeup(now)) {
      timeout = to_timespec(*next - now);
      timeout_ptr = &timeout;
    }
    if (ppoll(fds.data(), count, timeout_ptr, nullptr) < 0) {
      if (errno == EINTR) return;
      throw Error::from_errno("ppoll");
    }

    if (out_slot >= 0 && fds[out_slot].revents != 0) read(out_);
    if (err_slot >= 0 && fds[err_slot].revents != 0) read(err_);
    if (wake_slot >= 0 && fds[wake_slot].revents != 0) on_stop_requested();
    const bool exited = exit_slot >= 0 ? fds[exit_slot].revents != 0
                                       : !exited_ && watch_.fd() < 0 && watch_.has_exited();
    if (exited && !exited_) on_child_exited();
  }

  void read(Capture& capture) { capture.read_available(buffer_.data(), buffer_.size()); }

  void on_stop_requested() {
    std::uint64_t count = 0;
    while (::read(wake_fd_, &count, sizeof count) < 0 && errno == EINTR) {
    }
    stop_seen_ = true;
    if (!terminating_) terminate(SteadyClock::now());
  }

  void on_child_exited() {
    exited_ = true;
    // Nothing of the command may outlive it. After a timeout or cancellation the group gets
    // SIGKILL at once. After a normal exit, what is left of it (a background job) gets
    // SIGTERM, and the grace to close the output it holds; finish() then kills whatever is
    // still there. The child is not reaped yet, so the group id still cannot name anyone else.
    if (terminating_) {
      signal_group(SIGKILL);
      drain_until_ = SteadyClock::now() + kDrainAfterExit;
    } else {
      signal_group(SIGTERM);
      drain_until_ = SteadyClock::now() + std::max(kDrainAfterExit, kill_grace_);
    }
  }

  void terminate(SteadyClock::time_point now) {
    signal_group(SIGTERM);
    terminating_ = true;
    kill_at_ = now + kill_grace_;
  }

  // ESRCH (nobody left in the group) is fine; nothing else can fail for our own child.
  void signal_group(int signum) { ::kill(-pid_, signum); }

  // Once the group is killed (a SIGKILLed group can gain no member) and before the child is
  // reaped (until then its group id cannot be reused), the reaper need not watch it any more.
  void forget_group() {
    if (reaper_) reaper_->forget(pid_);
  }

  const pid_t pid_;
  const Reaper* const reaper_;
  ExitWatch watch_;
  Capture out_;
  Capture err_;
  const int wake_fd_;
  const SteadyClock::time_point start_;
  const milliseconds kill_grace_;
  std::array<char, kReadChunk> buffer_;  // a member, so that nothing here can fail to allocate

  std::optional<SteadyClock::time_point> deadline_;
  SteadyClock::time_point kill_at_{};
  SteadyClock::time_point drain_until_{};
  bool terminating_ = false;
  bool killed_ = false;
  bool timed_out_ = false;
  bool stop_seen_ = false;
  bool exited_ = false;
  bool reaped_ = false;
};

}  // namespace

std::map<std::string, std::string> process_environment() {
  Environment env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const size_t eq = text.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(text.substr(0, eq), text.substr(eq + 1));  // the first one wins, as in getenv
  }
  return env;
}

CommandResult run_command(const CommandSpec& spec, std::stop_token stop, const Reaper* reaper) {
  validate(spec);
  const auto start = SteadyClock::now();

  const Environment env = child_environment(spec);
  UniqueFd cwd_fd;
  if (!spec.cwd.empty()) {
    cwd_fd = open_directory(spec.cwd);
    if (!cwd_fd) {
      return cannot_start(
          spec, "cannot change directory to '" + spec.cwd + "': " + std::strerror(errno), start);
    }
  }
  const ProgramLookup program =
      find_program(spec.args[0], lookup(env, "PATH"), cwd_fd ? cwd_fd.get() : AT_FDCWD);
  if (program.error != 0) {
    return cannot_start(spec, std::strerror(program.error), start,
                        cannot_start_status(program.error));
  }

  Pipe out = make_output_pipe();
  Pipe err = make_output_pipe();
  UniqueFd wake(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake) throw Error::from_errno("eventfd");

  const std::vector<std::string> env_entries = flatten(env);
  const CStringArray argv(spec.args);
  const CStringArray envp(env_entries);
  const SpawnOutcome spawned = spawn(program.path, argv.get(), envp.get(), cwd_fd.get(),
                                     out.write.get(), err.write.get(), reaper);
  // The child has its own copies now; end of file must depend on the child's alone.
  out.write.reset();
  err.write.reset();
  cwd_fd.reset();
  if (spawned.error != 0) {
    return cannot_start(spec, std::strerror(spawned.error), start,
                        cannot_start_status(spawned.error));
  }

  Supervision supervision(spawned.pid, spec, std::move(out.read), std::move(err.read), wake.get(),
                          start, reaper);
  // Declared after `wake`, so it is gone (and any running callback finished) before the
  // eventfd closes.
  const std::stop_callback on_stop(stop, [fd = wake.get()] {
    const std::uint64_t one = 1;
    while (::write(fd, &one, sizeof one) < 0 && errno == EINTR) {
    }
  });
  supervision.run();
  return supervision.finish();
}

}  // namespace harness
