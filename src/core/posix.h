// The POSIX plumbing every layer shares: an owned descriptor, writes that finish, a private
// directory, the user's name for file names and a Unix-socket connection. Written once here
// so that each rule (what a private directory is, which user names are safe) has one home.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>

namespace harness {

// An owned file descriptor: closed when the owner goes away, so that no early return or
// exception can leak one into the next child process.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }

  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }

  int release() { return std::exchange(fd_, -1); }

  // Linux releases the descriptor even when close() reports EINTR, so it is never retried.
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// Writes all of `bytes` to `fd`, again after EINTR and after short writes. Returns the number
// of bytes written: fewer than bytes.size() only when a write failed, errno then saying why
// (EIO when a write made no progress, so that a full device cannot make it spin).
std::size_t write_all(int fd, std::string_view bytes);

// write_all for a connected socket, sent with MSG_NOSIGNAL: a peer that went away is EPIPE
// (or ECONNRESET) in errno, not a SIGPIPE that kills the process.
std::size_t send_all(int fd, std::string_view bytes);

// What ensure_private_dir found at a directory's path.
enum class DirState {
  kPrivate,        // a directory, not a symlink, of the effective uid, closed to others
  kNotADirectory,  // something else (a symlink included) is at the path
  kOtherOwner,     // a directory of another user
  kOpenToOthers,   // a directory of this user that the group or others may enter
};

// Whether ensure_private_dir makes missing parents too (each 0700, as `mkdir -p` does).
enum class MissingParents { kFail, kCreate };

// Creates `dir` with mode 0700 unless something is at its path, then says what is there; the
// caller decides what to refuse, since a socket directory refuses an open mode that a state
// directory closes. Throws Error (from errno) when a directory cannot be created (a missing
// parent, with kFail) or the path cannot be inspected.
DirState ensure_private_dir(const std::filesystem::path& dir,
                            MissingParents parents = MissingParents::kFail);

// The user name for file names: $USER, else the password database's name for the effective
// uid, else the numeric uid. Throws Error::invalid, saying what is wrong, when $USER cannot
// be one path component ('/' in it, "." or "..", or longer than NAME_MAX): it would name a
// directory outside the one meant.
std::string current_user_name();

// A blocking stream socket connected to the Unix socket at `path` (close-on-exec), or an
// empty UniqueFd with errno set (ENAMETOOLONG when `path` does not fit a sockaddr_un).
UniqueFd connect_unix_socket(const std::filesystem::path& path);

}  // namespace harness
