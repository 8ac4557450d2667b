#include "log/trajectory_reader.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <utility>

#include "core/error.h"
#include "core/posix.h"

namespace harness {
namespace {

constexpr std::size_t kBlockSize = 64 * 1024;
constexpr int kPollFallbackMillis = 100;

// Opens `file` for reading; an empty UniqueFd if it does not exist.
UniqueFd open_if_exists(const std::filesystem::path& file) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno != ENOENT) throw Error::from_errno("cannot open " + file.string());
  return UniqueFd(fd);
}

// Reads up to size bytes at offset; fewer only at end of file.
std::size_t pread_full(int fd, char* buf, std::size_t size, std::uint64_t offset,
                       const std::filesystem::path& file) {
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd, buf + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error::from_errno("cannot read " + file.string());
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

struct FileId {
  dev_t dev;
  ino_t ino;
  bool operator==(const FileId&) const = default;
};

FileId id_of(const struct stat& st) { return FileId{st.st_dev, st.st_ino}; }

}  // namespace

std::uint64_t file_size_or_zero(const std::filesystem::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) == 0) return static_cast<std::uint64_t>(st.st_size);
  if (errno == ENOENT || errno == ENOTDIR) return 0;
  throw Error::from_errno("cannot stat " + file.string());
}

// ---------------------------------------------------------------------------------------------
// read_last_lines

std::vector<std::string> read_last_lines(const std::filesystem::path& file, std::size_t n,
                                         TailReadStats* stats) {
  TailReadStats local_stats;
  if (stats == nullptr) stats = &local_stats;
  *stats = {};
  UniqueFd fd = open_if_exists(file);
  if (!fd || n == 0) return {};
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw Error::from_errno("cannot stat " + file.string());

  // Scan blocks from the end. The first '\n' met ends the last complete line (`end`); each
  // further '\n' completes one more line, and the n-th of those marks where `begin` is.
  std::vector<std::pair<std::uint64_t, std::string>> blocks;  // (offset, bytes), newest first
  std::optional<std::uint64_t> end;
  std::uint64_t begin = 0;
  std::size_t complete = 0;
  std::uint64_t pos = static_cast<std::uint64_t>(st.st_size);
  while (pos > 0 && complete < n) {
    const std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(kBlockSize, pos));
    pos -= len;
    std::string block(len, '\0');
    if (pread_full(fd.get(), block.data(), len, pos, file) != len) {
      throw Error::io(file.string() + " shrank while being read");
    }
    stats->bytes_read += len;
    for (std::size_t i = len; i-- > 0 && complete < n;) {
      if (block[i] != '\n') continue;
      if (!end) {
        end = pos + i + 1;
      } else if (++complete == n) {
        begin = pos + i + 1;
      }
    }
    if (end) blocks.emplace_back(pos, std::move(block));  // blocks past `end` are torn tail
  }
  if (!end) return {};

  std::string text;
  text.reserve(static_cast<std::size_t>(*end - begin));
  for (auto it = blocks.rbegin(); it != blocks.rend(); ++it) {
    const auto& [offset, bytes] = *it;
    const std::uint64_t from = std::max(begin, offset);
    const std::uint64_t to = std::min<std::uint64_t>(*end, offset + bytes.size());
    if (from < to) text.append(bytes, from - offset, to - from);
  }
  std::vector<std::string> lines;
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\n') continue;
    lines.emplace_back(text, line_start, i - line_start);
    line_start = i + 1;
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------
// follow_lines

namespace {

// Sleeps until the followed file may have changed or stop is requested. It watches the
// file's directory rather than the file: that one watch sees growth, truncation, creation,
// deletion and rename-over, and works before the file exists.
class ChangeWaiter {
 public:
  ChangeWaiter(std::filesystem::path dir, std::string name, std::stop_token stop)
      : dir_(std::move(dir)),
        name_(std::move(name)),
        inotify_(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK)),
        wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
        on_stop_(std::move(stop), [this] { signal_stop(); }) {
    if (!wake_) throw Error::from_errno("eventfd");
    add_watch();
  }

  ~ChangeWaiter() = default;
  ChangeWaiter(const ChangeWaiter&) = delete;
  ChangeWaiter& operator=(const ChangeWaiter&) = delete;

  // Returns when something in the directory that concerns the file happened, when stop is
  // requested, or after kPollFallbackMillis if there is no watch.
  void wait() {
    // A watch that had to be (re)made may have missed changes: let the caller look first.
    if (watch_ < 0 && add_watch()) return;
    for (;;) {
      pollfd fds[2] = {{wake_.get(), POLLIN, 0}, {inotify_.get(), POLLIN, 0}};
      const int nfds = watch_ >= 0 ? 2 : 1;
      const int timeout = watch_ >= 0 ? -1 : kPollFallbackMillis;
      const int ready = ::poll(fds, nfds, timeout);
      if (ready < 0 && errno == EINTR) continue;
      if (ready < 0) throw Error::from_errno("poll");
      if (ready == 0 || fds[0].revents != 0) return;  // fallback tick, or stop
      if (drain_events()) return;
    }
  }

 private:
  static constexpr std::uint32_t kMask = IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_CREATE |
                                         IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF |
                                         IN_MOVE_SELF | IN_ONLYDIR;

  // Returns whether a watch is now in place.
  bool add_watch() {
    if (!inotify_) return false;
    watch_ = ::inotify_add_watch(inotify_.get(), dir_.c_str(), kMask);
    return watch_ >= 0;
  }

  // Reads all pending events; returns whether any could concern the file.
  bool drain_events() {
    alignas(inotify_event) char buf[16 * 1024];
    bool relevant = false;
    for (;;) {
      const ssize_t n = ::read(inotify_.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return relevant;  // EAGAIN: drained
      for (ssize_t off = 0; off < n;) {
        const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
        off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
        if (ev->mask & IN_Q_OVERFLOW) {  // events were lost: look again
          relevant = true;
        } else if (ev->wd != watch_) {
          continue;  // left over from a watch already given up
        } else if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
          // The directory went away or moved: the watch no longer tracks our path.
          if (!(ev->mask & IN_IGNORED)) ::inotify_rm_watch(inotify_.get(), watch_);
          watch_ = -1;
          relevant = true;
        } else if (ev->len > 0 && name_ == ev->name) {
          relevant = true;
        }
      }
    }
  }

  void signal_stop() {
    const std::uint64_t one = 1;
    [[maybe_unused]] ssize_t ignored = ::write(wake_.get(), &one, sizeof one);
  }

  const std::filesystem::path dir_;
  const std::string name_;
  UniqueFd inotify_;
  UniqueFd wake_;
  int watch_ = -1;
  std::stop_callback<std::function<void()>> on_stop_;  // last: may run at once, uses wake_
};

// Reads complete lines of a file from an offset, across truncation and replacement.
class LineFollower {
 public:
  LineFollower(std::filesystem::path file, std::uint64_t from,
               const std::function<bool(std::string_view)>& on_line, const std::stop_token& stop)
      : file_(std::move(file)), offset_(from), on_line_(on_line), stop_(stop) {}

  std::uint64_t offset() const { return offset_; }

  // Delivers every complete line now in the file. Returns false once on_line returned false
  // or stop was requested.
  bool catch_up() {
    for (;;) {
      if (!fd_ && !open()) return true;  // not there yet
      if (!read_to_end()) return false;
      if (!replaced()) return true;
      fd_.reset();  // the old file is read to its end; start on the new one
      restart_at(0);
    }
  }

 private:
  bool open() {
    fd_ = open_if_exists(file_);
    if (!fd_) return false;
    struct stat st {};
    if (::fstat(fd_.get(), &st) != 0) throw Error::from_errno("cannot stat " + file_.string());
    id_ = id_of(st);
    return true;
  }

  bool replaced() const {
    struct stat st {};
    if (::stat(file_.c_str(), &st) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) return true;
      throw Error::from_errno("cannot stat " + file_.string());
    }
    return id_of(st) != id_;
  }

  void restart_at(std::uint64_t offset) {
    offset_ = offset;
    pending_.clear();
  }

  bool read_to_end() {
    struct stat st {};
    if (::fstat(fd_.get(), &st) != 0) throw Error::from_errno("cannot stat " + file_.string());
    // Shorter than what we have seen: truncated (or `from` was past the end), so start over.
    if (static_cast<std::uint64_t>(st.st_size) < offset_ + pending_.size()) restart_at(0);
    char buf[kBlockSize];
    for (;;) {
      const std::size_t n =
          pread_full(fd_.get(), buf, sizeof buf, offset_ + pending_.size(), file_);
      if (n == 0) return !stop_.stop_requested();
      pending_.append(buf, n);
      if (!deliver_lines()) return false;
    }
  }

  // Hands complete lines in pending_ to on_line and keeps the torn rest.
  bool deliver_lines() {
    std::size_t start = 0;
    bool more = true;
    for (std::size_t nl; more && (nl = pending_.find('\n', start)) != std::string::npos;) {
      if (stop_.stop_requested()) {
        more = false;
        break;
      }
      more = on_line_(std::string_view(pending_).substr(start, nl - start));
      offset_ += nl + 1 - start;
      start = nl + 1;
    }
    pending_.erase(0, start);
    return more;
  }

  const std::filesystem::path file_;
  std::uint64_t offset_;  // just past the last line delivered
  std::string pending_;   // bytes read after offset_ that do not end with '\n' yet
  const std::function<bool(std::string_view)>& on_line_;
  const std::stop_token& stop_;
  UniqueFd fd_;
  FileId id_{};
};

}  // namespace

std::uint64_t follow_lines(const std::filesystem::path& file, std::uint64_t from,
                           const std::function<bool(std::string_view)>& on_line,
                           std::stop_token stop) {
  std::filesystem::path dir = file.parent_path();
  if (dir.empty()) dir = ".";
  // The watch goes in before the first read, so no growth after that read goes unnoticed.
  ChangeWaiter waiter(dir, file.filename().string(), stop);
  LineFollower follower(file, from, on_line, stop);
  while (!stop.stop_requested() && follower.catch_up()) waiter.wait();
  return follower.offset();
}

}  // namespace harness
