#include "exec/reaper.h"

#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

extern char** environ;

namespace harness {
namespace {

// A `sleep` in a process group of its own, as a command is; killed and reaped at the end.
class Sleeper {
 public:
  Sleeper() {
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attributes, 0);
    char program[] = "sleep", seconds[] = "300";
    char* argv[] = {program, seconds, nullptr};
    EXPECT_EQ(posix_spawnp(&pid_, "sleep", nullptr, &attributes, argv, environ), 0);
    posix_spawnattr_destroy(&attributes);
  }
  ~Sleeper() {
    ::kill(pid_, SIGKILL);
    wait();
  }
  pid_t pid() const { return pid_; }
  // How it ended; the first call reaps it.
  int wait() {
    if (!reaped_) {
      while (::waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
      }
      reaped_ = true;
    }
    return status_;
  }

 private:
  pid_t pid_ = -1;
  int status_ = 0;
  bool reaped_ = false;
};

// Runs run_reaper in a child process on one end of a socket pair, as the daemon's reaper.
class ReaperProcess {
 public:
  ReaperProcess() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds), 0);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(fds[0]);
      ::_exit(run_reaper(fds[1]));
    }
    ::close(fds[1]);
    fd_ = fds[0];
  }
  ~ReaperProcess() { finish(); }

  void send(char sign, pid_t pgid) {
    char record[24];
    send(std::string(record, format_reaper_record(sign, pgid, record)));
  }
  void send(const std::string& record) {
    EXPECT_EQ(::send(fd_, record.data(), record.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(record.size()));
  }
  // Closes our end, as a dying daemon does, and waits for the reaper to finish; its status.
  int finish() {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
      while (::waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
      }
    }
    return status_;
  }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  int status_ = -1;
};

// The signal that ended `sleeper` once we send it SIGTERM: SIGKILL if the reaper killed it
// (before it exited), else our SIGTERM.
int ending_signal(Sleeper& sleeper) {
  ::kill(sleeper.pid(), SIGTERM);
  const int status = sleeper.wait();
  return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

TEST(Reaper, FormatsRecords) {
  char record[24];
  EXPECT_EQ(std::string(record, format_reaper_record('+', 4194304, record)), "+4194304\n");
  EXPECT_EQ(std::string(record, format_reaper_record('-', 7, record)), "-7\n");
}

TEST(Reaper, KillsTheGroupsStillListedAtEndOfFile) {
  Sleeper listed, forgotten, never_listed;
  ReaperProcess reaper;
  reaper.send('+', listed.pid());
  reaper.send('+', forgotten.pid());
  reaper.send('-', forgotten.pid());
  const int status = reaper.finish();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(ending_signal(listed), SIGKILL);
  EXPECT_EQ(ending_signal(forgotten), SIGTERM);
  EXPECT_EQ(ending_signal(never_listed), SIGTERM);
}

TEST(Reaper, IgnoresMalformedRecords) {
  Sleeper sleeper;
  ReaperProcess reaper;
  // Not "+1" or "+0" (rejected too): if a regression let them through, kill(-1) or kill(0)
  // would hit far more than this test.
  const std::string pid = std::to_string(sleeper.pid());
  const std::vector<std::string> records = {"+", "x" + pid + "\n", "+" + pid + "x\n", "+ " + pid,
                                            "*"};
  for (const std::string& record : records) reaper.send(record);
  EXPECT_TRUE(WIFEXITED(reaper.finish()));
  EXPECT_EQ(ending_signal(sleeper), SIGTERM);
}

}  // namespace
}  // namespace harness
