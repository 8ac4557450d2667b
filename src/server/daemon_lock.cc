#include "server/daemon_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/json.h"
#include "store/state_dir.h"

namespace harness {

namespace fs = std::filesystem;

namespace {

// Best effort: a daemon that cannot say where it is still serves.
void write_info(const fs::path& path, const fs::path& socket, const fs::path& worktree) {
  const fs::path temp = path.string() + ".new-" + std::to_string(::getpid());
  const std::string text =
      Json{{"pid", ::getpid()}, {"socket", socket.string()}, {"worktree", worktree.string()}}.dump(
          -1, ' ', false, Json::error_handler_t::replace) +
      "\n";
  UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
  const bool written = fd && write_all(fd.get(), text) == text.size();
  fd.reset();
  if (!written || ::rename(temp.c_str(), path.c_str()) != 0) ::unlink(temp.c_str());
}

std::string describe(const std::optional<DaemonInfo>& info) {
  if (!info) return "";
  return " (pid " + std::to_string(info->pid) + ", socket " + info->socket.string() + ")";
}

}  // namespace

DaemonLock::DaemonLock(const fs::path& worktree, const fs::path& socket)
    : info_path_(daemon_info_path(worktree)) {
  const fs::path dir = state_dir(worktree);
  dir_.reset(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir_) throw Error::from_errno("cannot open the state directory " + dir.string());
  if (::flock(dir_.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) throw Error::from_errno("cannot lock " + dir.string());
    const std::optional<DaemonInfo> holder = read_daemon_info(worktree);
    const std::string stop_it =
        holder ? "; stop it with `HARNESS_SOCKET=" + holder->socket.string() + " harness shutdown`"
               : "";
    throw DaemonBusy("Another daemon is already running for " +
                     (holder ? holder->worktree : worktree).string() + describe(holder) + stop_it);
  }
  write_info(info_path_, socket, worktree);
}

DaemonLock::~DaemonLock() { ::unlink(info_path_.c_str()); }

std::optional<DaemonInfo> read_daemon_info(const fs::path& worktree) {
  std::ifstream in(daemon_info_path(worktree));
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  try {
    const Json json = Json::parse(text.str());
    DaemonInfo info;
    info.pid = json.at("pid").get<pid_t>();
    info.socket = json.at("socket").get<std::string>();
    info.worktree = json.value("worktree", worktree.string());
    return info;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

namespace {

// A zombie has released its lock already: a daemon killed with -9 whose parent has not reaped
// it yet (an init that never does) is as dead as one that is gone.
bool is_zombie(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return false;
  const auto name_end = stat.rfind(')');  // the command name may hold spaces and parentheses
  return name_end != std::string::npos && name_end + 2 < stat.size() &&
         (stat[name_end + 2] == 'Z' || stat[name_end + 2] == 'X');
}

}  // namespace

bool holder_alive(const DaemonInfo& info) {
  return info.pid > 0 && (::kill(info.pid, 0) == 0 || errno == EPERM) && !is_zombie(info.pid);
}

}  // namespace harness
