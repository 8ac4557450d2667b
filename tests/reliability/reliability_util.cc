#include "reliability/reliability_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace harness::testing::reliability {

namespace fs = std::filesystem;
using test_support::run_program;
using test_support::RunResult;

long proc_status_kib(pid_t pid, const char* key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  const std::string prefix = std::string(key) + ":";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) return std::strtol(line.c_str() + prefix.size(), nullptr, 10);
  }
  return -1;
}

int open_descriptor_count(pid_t pid) {
  DIR* dir = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (!dir) return -1;
  int n = 0;
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(dir);
  return n;
}

bool wait_for_exit(pid_t pid, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling another process
  }
  return false;
}

long raise_descriptor_limit() {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &limit);
  ::getrlimit(RLIMIT_NOFILE, &limit);
  return static_cast<long>(limit.rlim_cur);
}

std::string read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_file(const fs::path& file, const std::string& content) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << content;
  if (!out.flush()) throw std::runtime_error("cannot write " + file.string());
}

// ---- ScopedMount -----------------------------------------------------------------------------

std::optional<ScopedMount> ScopedMount::tmpfs(const fs::path& target, std::size_t bytes,
                                              std::string* why) {
  const std::string options = "size=" + std::to_string(bytes) + ",mode=0700";
  if (::mount("tmpfs", target.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) != 0) {
    if (why) *why = std::string("cannot mount a tmpfs: ") + std::strerror(errno);
    return std::nullopt;
  }
  return ScopedMount(target);
}

std::optional<ScopedMount> ScopedMount::read_only_bind(const fs::path& target, std::string* why) {
  if (::mount(target.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    if (why) *why = std::string("cannot bind-mount: ") + std::strerror(errno);
    return std::nullopt;
  }
  ScopedMount mounted(target);
  if (::mount(nullptr, target.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0) {
    if (why) *why = std::string("cannot remount read-only: ") + std::strerror(errno);
    return std::nullopt;  // `mounted` unmounts the writable bind
  }
  return mounted;
}

ScopedMount::ScopedMount(ScopedMount&& other) noexcept : target_(std::move(other.target_)) {
  other.target_.clear();
}

ScopedMount::~ScopedMount() { release(); }

void ScopedMount::release() {
  if (target_.empty()) return;
  ::umount2(target_.c_str(), MNT_DETACH);
  target_.clear();
}

std::size_t fill_file_system(const fs::path& dir) {
  const fs::path file = dir / "filler";
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot create " + file.string());
  std::string block(64 * 1024, 'x');
  std::size_t total = 0;
  std::size_t chunk = block.size();
  for (;;) {
    const ssize_t n = ::write(fd, block.data(), chunk);
    if (n > 0) {
      total += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (chunk == 1) break;  // not even one byte fits
    chunk = chunk / 2 == 0 ? 1 : chunk / 2;
  }
  ::close(fd);
  return total;
}

// ---- StateDb ---------------------------------------------------------------------------------

StateDb::StateDb(const fs::path& file) {
  if (sqlite3_open_v2(file.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error("cannot open " + file.string() + ": " + message);
  }
  sqlite3_busy_timeout(db_, 10000);
}

StateDb::~StateDb() { sqlite3_close(db_); }

std::vector<std::vector<std::string>> StateDb::query(const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK)
    throw std::runtime_error(sql + ": " + sqlite3_errmsg(db_));
  std::vector<std::vector<std::string>> rows;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    std::vector<std::string> row;
    for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
      const unsigned char* text = sqlite3_column_text(stmt, i);
      row.emplace_back(text ? reinterpret_cast<const char*>(text) : "<null>");
    }
    rows.push_back(std::move(row));
  }
  const std::string message = sqlite3_errmsg(db_);
  sqlite3_finalize(stmt);
  if (rc != SQLITE_DONE) throw std::runtime_error(sql + ": " + message);
  return rows;
}

std::string StateDb::integrity_check() {
  std::string out;
  for (const auto& row : query("PRAGMA integrity_check")) {
    if (!out.empty()) out += "; ";
    out += row.at(0);
  }
  return out;
}

// ---- the trajectory --------------------------------------------------------------------------

TrajectoryScan scan_trajectory(const fs::path& file) {
  const std::string text = read_file(file);
  std::vector<std::string> lines;
  std::size_t start = 0;
  TrajectoryScan scan;
  while (start < text.size()) {
    const std::size_t nl = text.find('\n', start);
    if (nl == std::string::npos) {
      lines.push_back(text.substr(start));
      scan.torn_tail = true;
      break;
    }
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  scan.lines = lines.size();
  std::vector<std::optional<Json>> parsed(lines.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    try {
      Json j = parse_json(lines[i]);
      if (j.is_object()) parsed[i] = std::move(j);
    } catch (const std::exception&) {
    }
  }
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (parsed[i]) {
      ++scan.parsed;
      const Json& e = *parsed[i];
      const std::string event = e.value("event", "");
      if (event == "complete") ++scan.completes[e.value("task_id", "")];
      if (event == "daemon_start") ++scan.daemon_starts;
      continue;
    }
    const bool last = i + 1 == lines.size();
    if (last && scan.torn_tail) continue;  // torn by a crash; the next start repairs it
    if (!last && parsed[i + 1] && parsed[i + 1]->value("event", "") == "daemon_start") {
      ++scan.repaired;
      continue;
    }
    scan.problems.push_back("line " + std::to_string(i + 1) + ": " + lines[i].substr(0, 200));
  }
  return scan;
}

// ---- other users -----------------------------------------------------------------------------

std::vector<std::string> as_nobody() {
  return {"setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"};
}

bool can_run_as_nobody(std::string* why) {
  std::vector<std::string> args = as_nobody();
  args.insert(args.end(), {"id", "-u"});
  const RunResult r = run_program(args);
  if (r.status == 0 && r.out == "65534\n") return true;
  if (why) *why = "cannot run a program as nobody with setpriv: " + r.err + r.out;
  return false;
}

std::uint64_t test_seed(const char* env_name) {
  std::uint64_t seed;
  if (const char* s = std::getenv(env_name); s && *s) {
    seed = std::strtoull(s, nullptr, 0);
  } else {
    seed = (static_cast<std::uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}();
  }
  std::cout << "[ seed     ] " << env_name << "=" << seed << std::endl;
  return seed;
}

int stress_size(int n, int minimum) {
  const char* text = std::getenv("HARNESS_STRESS_SCALE");
  if (!text || !*text) return std::max(n, minimum);
  char* end = nullptr;
  const double scale = std::strtod(text, &end);
  if (*end != '\0' || !(scale > 0) || !std::isfinite(scale))
    throw std::invalid_argument(std::string("HARNESS_STRESS_SCALE must be a positive number: '") +
                                text + "'");
  const double scaled = std::min<double>(std::round(n * scale), INT_MAX);
  const int size = std::max(minimum, static_cast<int>(scaled));
  std::cout << "[ scale    ] HARNESS_STRESS_SCALE=" << text << ": " << n << " -> " << size
            << std::endl;
  return size;
}

}  // namespace harness::testing::reliability
