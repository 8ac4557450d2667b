// One daemon per socket (DESIGN §1): the daemon holds an exclusive flock on "<socket>.lock"
// for its whole life, taken before it binds.
#pragma once

#include <filesystem>

namespace harness {

class DaemonLock {
 public:
  // Takes the lock or throws Error::conflict("Another daemon is already running (socket S)").
  explicit DaemonLock(const std::filesystem::path& socket_path);
  // Removes the lock file while still holding the lock, then releases it.
  ~DaemonLock();

  DaemonLock(const DaemonLock&) = delete;
  DaemonLock& operator=(const DaemonLock&) = delete;

 private:
  std::filesystem::path path_;
  int fd_ = -1;
};

}  // namespace harness
