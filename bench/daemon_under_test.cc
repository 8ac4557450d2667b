#include "daemon_under_test.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <deque>
#include <fstream>
#include <limits>
#include <sstream>
#include <thread>

#include "connection.h"
#include "core/error.h"

namespace harness::bench {

namespace {

constexpr auto kStopTimeout = std::chrono::seconds(30);
constexpr std::size_t kLogLinesQuoted = 5;

Json ping(const std::filesystem::path& socket) {
  Connection connection(socket, ConnectionMode::kPerRequest);
  return call(connection, Json{{"command", "ping"}});
}

}  // namespace

std::filesystem::path default_harness_binary() {
  return std::filesystem::read_symlink("/proc/self/exe").parent_path() / "harness";
}

DaemonUnderTest::DaemonUnderTest(std::filesystem::path socket, std::optional<ChildProcess> child,
                                 std::filesystem::path log)
    : socket_(std::move(socket)), child_(std::move(child)), log_(std::move(log)) {
  if (child_) pid_ = child_->pid();
}

DaemonUnderTest DaemonUnderTest::launch(const std::filesystem::path& harness_binary,
                                        const std::filesystem::path& dir) {
  const std::filesystem::path worktree = dir / "worktree";
  std::filesystem::create_directories(worktree);
  const std::filesystem::path socket = dir / "daemon.sock";
  SpawnSpec spec;
  spec.args = {harness_binary.string(), "daemon",     "--socket",
               socket.string(),         "--worktree", worktree.string()};
  spec.output = dir / "daemon.log";
  spec.new_session = true;
  return DaemonUnderTest(socket, ChildProcess(spec), spec.output);
}

DaemonUnderTest DaemonUnderTest::start(const std::filesystem::path& harness_binary,
                                       const std::filesystem::path& dir) {
  DaemonUnderTest daemon = launch(harness_binary, dir);
  daemon.wait_until_serving();
  return daemon;
}

DaemonUnderTest DaemonUnderTest::attach(const std::filesystem::path& socket) {
  DaemonUnderTest daemon(socket, std::nullopt, {});
  daemon.pid_ = ping(socket).at("pid").get<pid_t>();
  return daemon;
}

void DaemonUnderTest::wait_until_serving(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    check_alive();
    try {
      ping(socket_);
      return;
    } catch (const Error& e) {
      if (e.kind() != Error::Kind::kNotFound) throw;
    }
    if (std::chrono::steady_clock::now() > deadline)
      throw Error::io("the daemon did not answer within " + std::to_string(timeout.count()) +
                      " ms" + log_tail());
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void DaemonUnderTest::check_alive() {
  if (child_) {
    if (auto status = child_->poll())
      throw Error::io("the daemon exited (" + describe_wait_status(*status) + ")" + log_tail());
  } else if (::kill(pid_, 0) != 0) {
    throw Error::io("the daemon (pid " + std::to_string(pid_) + ") is gone");
  }
}

DaemonMemory DaemonUnderTest::memory() const {
  const std::string file = "/proc/" + std::to_string(pid_) + "/status";
  std::ifstream in(file);
  if (!in) throw Error::io("cannot read " + file);
  DaemonMemory memory;
  std::string key;
  long value;
  while (in >> key) {
    if (key == "VmRSS:" && in >> value) memory.rss_kb = value;
    if (key == "VmHWM:" && in >> value) memory.hwm_kb = value;
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return memory;
}

void DaemonUnderTest::stop() {
  if (!child_ || child_->poll()) return;
  try {
    Connection connection(socket_, ConnectionMode::kPerRequest);
    call(connection, Json{{"command", "shutdown"}});
  } catch (const Error&) {
    child_->kill(SIGTERM);  // not answering: the exit status below tells whether it obeyed
  }
  const std::optional<int> status = child_->wait_for(kStopTimeout);
  if (!status) {
    child_->kill(SIGKILL);
    child_->wait();
    throw Error::io("the daemon did not stop within 30 s" + log_tail());
  }
  if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0)
    throw Error::io("the daemon ended badly (" + describe_wait_status(*status) + ")" + log_tail());
}

std::string DaemonUnderTest::log_tail() const {
  std::ifstream in(log_);
  std::deque<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
    if (lines.size() > kLogLinesQuoted) lines.pop_front();
  }
  if (lines.empty()) return "";
  std::ostringstream out;
  out << "; daemon log " << log_.string() << " ends:";
  for (const std::string& line : lines) out << "\n  " << line;
  return out.str();
}

}  // namespace harness::bench
