// The reaper (issue 13, item 18): one helper process per daemon that kills what is left of
// every running command's process group once the daemon is gone, however it went (kill -9
// included). The kernel's parent-death signal reaches only the command itself; whatever the
// command started (`sh -c 'sleep 300 & wait'`) lives on in its process group, and the reaper
// kills that group.
//
// The daemon and the reaper share a socket pair (SOCK_SEQPACKET: each record is one message,
// written whole or not at all). A command's child announces "+PGID" itself, before it execs,
// so that nothing it starts can escape; the daemon sends "-PGID" once it has SIGKILLed the
// group and before it reaps the command, so the group id cannot name anyone else while it is on
// the reaper's list (an unreaped child keeps its pid, and so its group id, from reuse). At end
// of file — the daemon died, or closed its end after its commands finished — the reaper sends
// SIGKILL to every group still on its list and exits.
//
// What is not covered: a process that left the group on purpose (setsid, setpgid) is not the
// command's any more and is left alone. One window remains: after the daemon dies, a group
// whose members have all exited before the reaper acts could in principle have its id taken
// by a new, unrelated group leader in between; that needs the kernel to cycle through every
// pid (pid_max) in the instant between the daemon's death and the reaper's kill.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <string>

#include "core/posix.h"

namespace harness {

// The descriptor the reaper process finds its end of the socket on.
inline constexpr int kReaperFd = 3;

class Reaper {
 public:
  // Starts `program reaper` (normally "/proc/self/exe": the harness binary, whose hidden verb
  // `reaper` calls run_reaper) in a session of its own, with default signal handling, stdin
  // on /dev/null, the caller's stdout and stderr, its end of the socket on kReaperFd and no
  // other descriptor. Throws Error::io when it cannot.
  explicit Reaper(const std::string& program = "/proc/self/exe");
  // Closes our end, so that the reaper kills whatever is still listed and exits, and waits
  // for it: nothing is left behind.
  ~Reaper();
  Reaper(const Reaper&) = delete;
  Reaper& operator=(const Reaper&) = delete;

  // Our end of the socket, for a command's child to announce its group on (announce()).
  // Close-on-exec; sends time out after a second rather than block the daemon.
  int fd() const { return fd_.get(); }
  pid_t pid() const { return pid_; }

  // Takes `pgid` off the list. Call only once the group has been killed and before its leader
  // is reaped. Never throws; if the reaper cannot be told, says so once in the daemon's log
  // (core/logger.h).
  void forget(pid_t pgid) const;
  // Reports that a child could not announce its group (errno `error`): once, in the log.
  void report_failure(int error) const;

 private:
  UniqueFd fd_;
  pid_t pid_ = -1;
  mutable std::atomic<bool> warned_{false};
};

// Formats the record for group `pgid` ('+' or '-') into `buffer` without allocating (the
// child of a command calls it between clone and exec); returns its length.
std::size_t format_reaper_record(char sign, pid_t pgid, char (&buffer)[24]);

// The reaper process: reads records from `fd` until end of file, then SIGKILLs every group
// still listed. Ignores SIGINT, SIGTERM, SIGHUP and SIGPIPE. Returns the exit status (0).
int run_reaper(int fd);

}  // namespace harness
