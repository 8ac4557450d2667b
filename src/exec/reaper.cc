#include "exec/reaper.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <new>
#include <set>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/logger.h"

extern char** environ;

namespace harness {

namespace {

// A send to a reaper that does not read (stopped, say) gives up after this long.
constexpr timeval kSendTimeout{1, 0};

// posix_spawn's file actions, freed however we leave.
class FileActions {
 public:
  FileActions() { posix_spawn_file_actions_init(&actions_); }
  ~FileActions() { posix_spawn_file_actions_destroy(&actions_); }
  posix_spawn_file_actions_t* get() { return &actions_; }

 private:
  posix_spawn_file_actions_t actions_;
};

class SpawnAttributes {
 public:
  SpawnAttributes() { posix_spawnattr_init(&attributes_); }
  ~SpawnAttributes() { posix_spawnattr_destroy(&attributes_); }
  posix_spawnattr_t* get() { return &attributes_; }

 private:
  posix_spawnattr_t attributes_;
};

// Applies one record to `groups`; anything else is ignored.
void apply_record(std::string_view record, std::set<pid_t>& groups) {
  if (record.size() < 2 || (record[0] != '+' && record[0] != '-')) return;
  pid_t pgid = 0;
  const char* end = record.data() + record.size();
  if (!record.empty() && record.back() == '\n') --end;
  const auto [rest, error] = std::from_chars(record.data() + 1, end, pgid);
  if (error != std::errc() || rest != end || pgid <= 1) return;
  if (record[0] == '+') {
    groups.insert(pgid);
  } else {
    groups.erase(pgid);
  }
}

}  // namespace

Reaper::Reaper(const std::string& program) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0)
    throw Error::from_errno("socketpair");
  fd_ = UniqueFd(fds[0]);
  UniqueFd theirs(fds[1]);
  if (::setsockopt(fd_.get(), SOL_SOCKET, SO_SNDTIMEO, &kSendTimeout, sizeof kSendTimeout) != 0)
    throw Error::from_errno("setsockopt(SO_SNDTIMEO)");
  // dup2 onto the same number would leave it close-on-exec.
  if (theirs.get() == kReaperFd) {
    theirs = UniqueFd(::fcntl(theirs.get(), F_DUPFD_CLOEXEC, kReaperFd + 1));
    if (!theirs) throw Error::from_errno("fcntl(F_DUPFD_CLOEXEC)");
  }

  FileActions actions;
  SpawnAttributes attributes;
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  // Its own session: a terminal's signals to the daemon's process group never reach it. Not
  // a parent-death signal: it must outlive the daemon to do its work.
  if (posix_spawn_file_actions_addopen(actions.get(), STDIN_FILENO, "/dev/null", O_RDONLY, 0) ||
      posix_spawn_file_actions_adddup2(actions.get(), theirs.get(), kReaperFd) ||
      posix_spawn_file_actions_addclosefrom_np(actions.get(), kReaperFd + 1) ||
      posix_spawnattr_setflags(
          attributes.get(), POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK) ||
      posix_spawnattr_setsigdefault(attributes.get(), &all) ||
      posix_spawnattr_setsigmask(attributes.get(), &none)) {
    throw Error::io("cannot prepare the reaper's start");
  }
  char name[] = "harness";
  char verb[] = "reaper";
  char* argv[] = {name, verb, nullptr};
  const int error =
      posix_spawn(&pid_, program.c_str(), actions.get(), attributes.get(), argv, environ);
  if (error != 0) {
    errno = error;
    throw Error::from_errno("cannot start the reaper " + program);
  }
}

Reaper::~Reaper() {
  fd_.reset();
  while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
}

void Reaper::forget(pid_t pgid) const {
  char record[24];
  const std::size_t size = format_reaper_record('-', pgid, record);
  if (::send(fd_.get(), record, size, MSG_NOSIGNAL) < 0) report_failure(errno);
}

void Reaper::report_failure(int error) const {
  if (warned_.exchange(true)) return;
  try {
    log_warning("cannot reach the reaper (pid " + std::to_string(pid_) + ")",
                std::string(std::strerror(error)) +
                    "; a command's background processes may outlive a daemon killed by SIGKILL");
  } catch (const std::bad_alloc&) {  // never throws: the warning is lost instead
  }
}

// Called in a command's child before exec: plain arithmetic on the stack only.
[[gnu::no_sanitize("address", "thread", "undefined")]] std::size_t format_reaper_record(
    char sign, pid_t pgid, char (&buffer)[24]) {
  char digits[16];
  std::size_t count = 0;
  auto value = static_cast<unsigned long>(pgid);
  do {
    digits[count++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0 && count < sizeof digits);
  std::size_t size = 0;
  buffer[size++] = sign;
  while (count > 0) buffer[size++] = digits[--count];
  buffer[size++] = '\n';
  return size;
}

int run_reaper(int fd) {
  for (const int signum : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) ::signal(signum, SIG_IGN);
  std::set<pid_t> groups;
  char buffer[64];
  while (true) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // end of file: the daemon is gone (or EBADF: started by hand)
    apply_record(std::string_view(buffer, static_cast<std::size_t>(n)), groups);
  }
  for (const pid_t pgid : groups) ::kill(-pgid, SIGKILL);
  return 0;
}

}  // namespace harness
