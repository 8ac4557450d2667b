#include "cli/worker_id.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <random>
#include <string_view>

#include "cli/agent_process.h"
#include "core/error.h"
#include "core/posix.h"

namespace harness {
namespace {

constexpr std::size_t kMaxIdLength = 128;
// A valid file is one short line; reading a little more tells "too long" from "just right".
constexpr std::size_t kMaxFileBytes = 4096;
// Creation retries when the file vanishes between losing the link race and reading it.
constexpr int kCreateAttempts = 5;

std::optional<std::string> env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

std::uint32_t random_u32() {
  std::uint32_t value = 0;
  if (::getrandom(&value, sizeof value, 0) == static_cast<ssize_t>(sizeof value)) return value;
  return std::random_device{}();
}

std::string hex8(std::uint32_t value) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", value);
  return buf;
}

std::string fresh_worker_id() { return "worker-" + hex8(random_u32()); }

bool is_id_char(char c) { return c > ' ' && c < 0x7f; }

std::string_view trim(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// Removes the temporary file whatever happens after it was created.
class ScopedUnlink {
 public:
  explicit ScopedUnlink(std::filesystem::path path) : path_(std::move(path)) {}
  ~ScopedUnlink() { ::unlink(path_.c_str()); }
  ScopedUnlink(const ScopedUnlink&) = delete;
  ScopedUnlink& operator=(const ScopedUnlink&) = delete;

 private:
  std::filesystem::path path_;
};

// An id file we will not use: what is at the path is not ours to trust.
Error untrusted_file(const std::filesystem::path& file, const std::string& problem) {
  return Error::conflict("worker id file " + file.string() + " " + problem);
}

// An id file that is ours but does not hold an id.
Error bad_content(const std::filesystem::path& file, const std::string& problem) {
  return Error::corruption("worker id file " + file.string() + " " + problem);
}

std::string read_all(int fd, const std::filesystem::path& file) {
  std::string content;
  char buf[1024];
  while (content.size() <= kMaxFileBytes) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error::from_errno("cannot read worker id file " + file.string());
    if (n == 0) break;
    content.append(buf, static_cast<std::size_t>(n));
  }
  return content;
}

std::string parse_id(const std::string& content, const std::filesystem::path& file) {
  if (content.size() > kMaxFileBytes) throw bad_content(file, "is too large to hold an id");
  const std::string_view id = trim(content);
  if (id.empty()) throw bad_content(file, "is empty (delete it to get a new id)");
  if (id.size() > kMaxIdLength) throw bad_content(file, "holds an id longer than 128 characters");
  for (char c : id) {
    if (!is_id_char(c)) {
      throw bad_content(file, "does not hold a single-line id of printable ASCII characters");
    }
  }
  return std::string(id);
}

// The id in an existing file, or nullopt if there is no file.
std::optional<std::string> load_worker_id(const std::filesystem::path& file) {
  // O_NONBLOCK so that a FIFO planted at the path cannot hang us before the type check.
  const UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!fd) {
    if (errno == ENOENT) return std::nullopt;
    if (errno == ELOOP) throw untrusted_file(file, "is a symlink; refusing to follow it");
    throw Error::from_errno("cannot open worker id file " + file.string());
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    throw Error::from_errno("cannot stat worker id file " + file.string());
  }
  if (!S_ISREG(st.st_mode)) throw untrusted_file(file, "is not a regular file");
  if (st.st_uid != ::geteuid()) {
    throw untrusted_file(file, "is owned by uid " + std::to_string(st.st_uid) + ", not by uid " +
                                   std::to_string(::geteuid()));
  }
  return parse_id(read_all(fd.get(), file), file);
}

// mkdir -p, with mode 0700 for every directory it creates. An existing directory may be
// shared (the file's own owner is checked when it is read), but it must be a directory.
void create_private_dirs(const std::filesystem::path& dir) {
  if (dir.empty()) return;
  if (ensure_private_dir(dir, MissingParents::kCreate) == DirState::kNotADirectory)
    throw Error::io(dir.string() + " is not a directory");
}

// Writes `id` to a private temporary file and links it in as `file`. Returns false if
// `file` already existed (someone else won the race).
bool publish_worker_id(const std::filesystem::path& file, const std::string& id) {
  std::filesystem::path tmp = file;
  tmp += ".tmp-" + std::to_string(::getpid()) + "-" + hex8(random_u32());
  const UniqueFd fd(
      ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) throw Error::from_errno("cannot create " + tmp.string());
  ScopedUnlink remove_tmp(tmp);
  const std::string line = id + "\n";
  if (write_all(fd.get(), line) != line.size())
    throw Error::from_errno("cannot write " + tmp.string());
  // A reader may find `file` the moment it is linked: its content must already be there,
  // and must survive a crash rather than leave an empty id file behind.
  if (::fsync(fd.get()) != 0) throw Error::from_errno("cannot fsync " + tmp.string());
  if (::link(tmp.c_str(), file.c_str()) == 0) return true;
  if (errno == EEXIST) return false;
  throw Error::from_errno("cannot create worker id file " + file.string());
}

}  // namespace

std::optional<WorkerIdentity> configured_worker_identity() {
  if (auto id = env("HARNESS_WORKER_ID")) return WorkerIdentity{*id, "$HARNESS_WORKER_ID"};
  if (auto file = env("HARNESS_WORKER_ID_FILE"))
    return WorkerIdentity{load_or_create_worker_id(*file),
                          "$HARNESS_WORKER_ID_FILE (" + *file + ")"};
  return std::nullopt;
}

WorkerIdentity resolve_worker_identity() {
  if (auto configured = configured_worker_identity()) return *configured;
  if (auto agent = current_agent_process())
    return {agent->worker_id, "the agent process " + agent->process.comm + " (pid " +
                                  std::to_string(agent->process.pid) + ")"};
  throw Error::invalid(
      "cannot tell which agent this is (no /proc, or no agent process above harness): set "
      "HARNESS_WORKER_ID (or HARNESS_WORKER_ID_FILE) to give this worker an id");
}

std::string resolve_worker_id() { return resolve_worker_identity().id; }

std::string load_or_create_worker_id(const std::filesystem::path& file) {
  for (int attempt = 0; attempt < kCreateAttempts; ++attempt) {
    if (auto id = load_worker_id(file)) return *id;
    create_private_dirs(file.parent_path());
    std::string id = fresh_worker_id();
    if (publish_worker_id(file, id)) return id;
    // Lost the race: the winner's file is there now, unless it was deleted again since.
  }
  throw Error::conflict("worker id file " + file.string() +
                        " keeps disappearing while it is being created");
}

}  // namespace harness
