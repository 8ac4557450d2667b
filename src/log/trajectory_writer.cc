#include "log/trajectory_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include "core/error.h"
#include "core/logger.h"
#include "core/posix.h"

namespace harness {
namespace {

// Events are written in chunks of about this size so a large backlog does not turn into one
// huge string in memory.
constexpr std::size_t kMaxWriteBytes = 1 << 20;

// How long the writer thread lets events gather after the first one arrives. Under load the
// daemon logs many events, one at a time; writing them a window at a time costs one wake-up
// per window instead of one (a context switch) per event.
constexpr auto kGatherWindow = std::chrono::milliseconds(2);

int open_for_append(const std::filesystem::path& path) {
  // O_RDWR rather than O_WRONLY: the torn-line repair has to read the last byte.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    if (errno == ELOOP) {
      throw Error::io("refusing to open trajectory " + path.string() + ": it is a symlink");
    }
    throw Error::from_errno("cannot open trajectory " + path.string());
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error::io("trajectory " + path.string() + " is not a regular file");
  }
  return fd;
}

// Terminates a torn last line (a crash mid-write) so that it stays one bad line instead of
// swallowing the next event too.
void repair_torn_tail(int fd, const std::filesystem::path& path) {
  off_t size = ::lseek(fd, 0, SEEK_END);
  if (size < 0) throw Error::from_errno("cannot seek trajectory " + path.string());
  if (size == 0) return;
  char last = 0;
  if (::pread(fd, &last, 1, size - 1) != 1) {
    throw Error::from_errno("cannot read trajectory " + path.string());
  }
  if (last != '\n' && write_all(fd, "\n") != 1) {
    throw Error::from_errno("cannot repair trajectory " + path.string());
  }
}

// {"ts":"...", then the event's own fields: its object text after the opening brace.
void append_line(std::string& out, Micros ts, std::string_view object_text) {
  out += "{\"ts\":\"";
  out += format_iso8601(ts);
  out += '"';
  if (object_text.size() > 2) {  // not "{}"
    out += ',';
    out += object_text.substr(1);
  } else {
    out += '}';
  }
  out += '\n';
}

}  // namespace

TrajectoryWriter::TrajectoryWriter(std::filesystem::path file, const Clock& clock, Mirror mirror)
    : path_(std::move(file)), clock_(clock), mirror_(std::move(mirror)) {
  fd_ = open_for_append(path_);
  try {
    repair_torn_tail(fd_, path_);
    thread_ = std::thread([this] { run(); });
  } catch (...) {
    ::close(fd_);
    throw;
  }
}

TrajectoryWriter::~TrajectoryWriter() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  queued_cv_.notify_one();
  thread_.join();
  ::close(fd_);
}

void TrajectoryWriter::append(Json event) {
  if (!event.is_object()) {
    throw Error::invalid("trajectory event must be a JSON object, got " +
                         std::string(event.type_name()));
  }
  append_serialized(event.dump(-1, ' ', false, Json::error_handler_t::replace));
}

void TrajectoryWriter::append_serialized(std::string object_text) {
  bool was_empty;
  {
    std::lock_guard lock(mu_);
    // Reading the clock under the lock keeps timestamps in file order.
    was_empty = queue_.empty();
    queue_.push_back(Queued{clock_.now(), std::move(object_text)});
  }
  // Only the first event of a batch needs to wake the writer thread: until it takes the queue,
  // later events join the same batch. This saves a wake-up (a context switch) per event.
  if (was_empty) queued_cv_.notify_one();
}

void TrajectoryWriter::run() {
  std::vector<Queued> batch;
  std::unique_lock lock(mu_);
  for (;;) {
    queued_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and everything is written
    queued_cv_.wait_for(lock, kGatherWindow, [&] { return stopping_; });
    batch.swap(queue_);
    lock.unlock();
    try {
      write_batch(batch);
    } catch (const std::exception& e) {  // e.g. bad_alloc: lose the batch, not the daemon
      log_error("dropping trajectory events", e.what());
    }
    batch.clear();
    lock.lock();
  }
}

void TrajectoryWriter::write_batch(std::vector<Queued>& batch) {
  std::string bytes;
  for (const Queued& q : batch) {
    try {
      append_line(bytes, q.ts, q.object_text);
    } catch (const std::exception& e) {  // never let one bad event stop the log
      log_error("dropping trajectory event", e.what());
    }
    if (bytes.size() >= kMaxWriteBytes) {
      write_bytes(bytes);
      bytes.clear();
    }
  }
  if (!bytes.empty()) write_bytes(bytes);
}

// Lines are dropped when the write fails: the log is best effort and the daemon must not
// block or grow without bound because the disk is full.
void TrajectoryWriter::write_bytes(const std::string& bytes) {
  if (mirror_) mirror_(bytes);
  std::string repaired;
  std::string_view out = bytes;
  if (file_ends_mid_line_) {  // start on a fresh line after a partial write
    repaired = "\n" + bytes;
    out = repaired;
  }
  const std::size_t written = write_all(fd_, out);
  if (written > 0) file_ends_mid_line_ = out[written - 1] != '\n';
  if (written == out.size()) {
    failing_ = false;
    return;
  }
  const int saved_errno = errno;
  if (!failing_) {  // once per run of failures, so a full disk does not flood the daemon log
    log_error("cannot write trajectory " + path_.string(),
              std::string(std::strerror(saved_errno)) + " (events are dropped)");
    failing_ = true;
  }
}

}  // namespace harness
