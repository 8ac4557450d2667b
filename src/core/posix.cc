#include "core/posix.h"

#include <limits.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/error.h"

namespace harness {

namespace fs = std::filesystem;

namespace {

// The loop of write_all and send_all; `put` is one write(2) or send(2).
template <typename Put>
std::size_t put_all(std::string_view bytes, Put put) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = put(bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  return done;
}

// Why `user` cannot name one path component, or "" when it can.
std::string unsafe_component(const std::string& user) {
  if (user.find('/') != std::string::npos) return "it contains '/'";
  if (user == "." || user == "..") return "it is \"" + user + "\"";
  if (user.size() > NAME_MAX) return "it is longer than " + std::to_string(NAME_MAX) + " bytes";
  return "";
}

}  // namespace

std::size_t write_all(int fd, std::string_view bytes) {
  return put_all(bytes,
                 [fd](const char* data, std::size_t size) { return ::write(fd, data, size); });
}

std::size_t send_all(int fd, std::string_view bytes) {
  return put_all(bytes, [fd](const char* data, std::size_t size) {
    return ::send(fd, data, size, MSG_NOSIGNAL);
  });
}

DirState ensure_private_dir(const fs::path& dir, MissingParents parents) {
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) throw Error::from_errno("cannot inspect " + dir.string());
    const fs::path parent = dir.parent_path();
    if (parents == MissingParents::kCreate && !parent.empty() && parent != dir)
      ensure_private_dir(parent, parents);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
      throw Error::from_errno("cannot create directory " + dir.string());
    if (::lstat(dir.c_str(), &st) != 0) throw Error::from_errno("cannot inspect " + dir.string());
  }
  if (!S_ISDIR(st.st_mode)) return DirState::kNotADirectory;
  if (st.st_uid != ::geteuid()) return DirState::kOtherOwner;
  if ((st.st_mode & 077) != 0) return DirState::kOpenToOthers;
  return DirState::kPrivate;
}

std::string current_user_name() {
  const char* env = std::getenv("USER");
  const std::string user = env ? env : "";
  if (!user.empty()) {
    if (const std::string problem = unsafe_component(user); !problem.empty())
      throw Error::invalid("$USER (" + user + ") cannot be part of a file name: " + problem +
                           "; set USER to your login name");
    return user;
  }
  if (const passwd* pw = ::getpwuid(::geteuid())) return pw->pw_name;
  return std::to_string(::geteuid());
}

UniqueFd connect_unix_socket(const fs::path& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.native().size() >= sizeof addr.sun_path) {
    errno = ENAMETOOLONG;
    return UniqueFd();
  }
  std::memcpy(addr.sun_path, path.c_str(), path.native().size());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return fd;
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return fd;
  const int err = errno;
  fd.reset();
  errno = err;
  return fd;
}

}  // namespace harness
