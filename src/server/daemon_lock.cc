#include "server/daemon_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "core/error.h"

namespace harness {

namespace {

// True when `fd` is still the file at `path`: a lock taken on a file that a stopping daemon
// has just unlinked would protect nothing.
bool still_linked(int fd, const std::filesystem::path& path) {
  struct stat by_fd, by_path;
  return ::fstat(fd, &by_fd) == 0 && ::stat(path.c_str(), &by_path) == 0 &&
         by_fd.st_ino == by_path.st_ino && by_fd.st_dev == by_path.st_dev;
}

}  // namespace

DaemonLock::DaemonLock(const std::filesystem::path& socket_path)
    : path_(socket_path.string() + ".lock") {
  for (;;) {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd_ < 0) throw Error::from_errno("cannot open lock file " + path_.string());
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      ::close(fd_);
      if (err == EWOULDBLOCK)
        throw Error::conflict("Another daemon is already running (socket " + socket_path.string() +
                              ")");
      errno = err;
      throw Error::from_errno("cannot lock " + path_.string());
    }
    if (still_linked(fd_, path_)) return;
    ::close(fd_);  // lost a race with a daemon removing its lock file: take the new one
  }
}

DaemonLock::~DaemonLock() {
  ::unlink(path_.c_str());
  ::close(fd_);
}

}  // namespace harness
