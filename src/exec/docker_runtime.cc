#include "exec/docker_runtime.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <random>
#include <thread>

#include "core/error.h"
#include "exec/signal_name.h"

namespace harness {

namespace fs = std::filesystem;

const std::vector<std::string> kHostOnlyVariables = {"PATH",
                                                     "HOME",
                                                     "HOSTNAME",
                                                     "PWD",
                                                     "OLDPWD",
                                                     "SHELL",
                                                     "TMPDIR",
                                                     "USER",
                                                     "LOGNAME",
                                                     "MAIL",
                                                     "LD_PRELOAD",
                                                     "LD_LIBRARY_PATH",
                                                     "XDG_RUNTIME_DIR",
                                                     "SSH_AUTH_SOCK",
                                                     "DISPLAY",
                                                     "WAYLAND_DISPLAY",
                                                     "DBUS_SESSION_BUS_ADDRESS",
                                                     "HARNESS_CONTAINER_ID",
                                                     "HARNESS_HOST_ROOT",
                                                     "HARNESS_CONTAINER_ROOT",
                                                     "HARNESS_SOCKET"};

namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Runs in the container as `sh -c <kLauncher> harness ARGV...`: the command replaces the shell
// (so it is the process docker started, in the session docker made for it), unless the
// container has no such program, which is then reported as a missing program is locally.
constexpr const char* kLauncher =
    "command -v \"$1\" >/dev/null 2>&1 || { printf \"harness: cannot run '%s': No such file or "
    "directory (not found in the container)\\n\" \"$1\" >&2; exit 127; }; exec \"$@\"";

// Runs in the container as `sh -c <kKiller> harness-kill TOKEN SIGNAL`: signals every process
// whose environment holds HARNESS_RUN=TOKEN (the command and all it started). One grep reads
// every environment where grep knows -z (GNU, BusyBox); else one pipeline per process.
constexpr const char* kKiller =
    "if printf 'a\\000' | grep -qz a 2>/dev/null; then "
    "for f in $(grep -lsxz \"HARNESS_RUN=$1\" /proc/[0-9]*/environ); do "
    "p=${f#/proc/}; kill -s \"$2\" \"${p%/environ}\" 2>/dev/null; done; "
    "else for d in /proc/[0-9]*; do tr '\\000' '\\n' < \"$d/environ\" 2>/dev/null | "
    "grep -qx \"HARNESS_RUN=$1\" && kill -s \"$2\" \"${d#/proc/}\" 2>/dev/null; done; fi; exit 0";

// How long harness waits for docker itself: the checks at start, and each kill.
constexpr milliseconds kDockerCallTimeout{30'000};
// SIGKILLs sent inside, one a grace apart, before harness gives up on a `docker exec` client.
constexpr int kKillRounds = 5;
// Longer timeouts are cut to this, so that deadlines cannot overflow (as run_command does).
constexpr milliseconds kLongestWait = std::chrono::hours(24 * 365 * 100);

fs::path without_trailing_slash(const fs::path& p) {
  std::string text = p.string();
  while (text.size() > 1 && text.back() == '/') text.pop_back();
  return fs::path(text).lexically_normal();
}

std::string random_token() {
  std::random_device device;
  char text[33];
  std::snprintf(text, sizeof text, "%08x%08x%08x%08x", device(), device(), device(), device());
  return text;
}

bool host_only(const std::string& name) {
  return std::find(kHostOnlyVariables.begin(), kHostOnlyVariables.end(), name) !=
         kHostOnlyVariables.end();
}

// The first lines of what docker said, for a message.
std::string said(const CommandResult& r) {
  std::string text = r.stderr_text.empty() ? r.stdout_text : r.stderr_text;
  if (text.size() > 1000) text = text.substr(0, 1000) + "...";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text.empty() ? "(docker said nothing)" : text;
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
    text.pop_back();
  return text;
}

CommandResult not_started(const CommandSpec& spec, const std::string& reason, int returncode,
                          SteadyClock::time_point start) {
  CommandResult result;
  result.returncode = returncode;
  result.stderr_text = "harness: cannot run '" + spec.args.front() + "': " + reason + "\n";
  result.duration_ms = std::chrono::duration_cast<milliseconds>(SteadyClock::now() - start).count();
  return result;
}

// docker could not start the launcher itself: the container has no `sh` (or cannot run it).
bool launcher_failed(const CommandResult& r) {
  return (r.returncode == 126 || r.returncode == 127) &&
         (r.stderr_text.find("OCI runtime exec failed") != std::string::npos ||
          r.stderr_text.find("executable file not found") != std::string::npos);
}

}  // namespace

ContainerPaths::ContainerPaths(const fs::path& host_root, const fs::path& container_root) {
  if (host_root.empty() && container_root.empty()) return;
  if (host_root.empty() || container_root.empty())
    throw Error::invalid(
        "HARNESS_HOST_ROOT and HARNESS_CONTAINER_ROOT go together: set both (the host directory "
        "and where the container sees it) or neither (the container sees host paths as they are)");
  if (!host_root.is_absolute() || !container_root.is_absolute())
    throw Error::invalid("HARNESS_HOST_ROOT (" + host_root.string() +
                         ") and HARNESS_CONTAINER_ROOT (" + container_root.string() +
                         ") must be absolute paths");
  std::error_code ignored;  // a root that does not exist here is compared as written
  host_root_ = without_trailing_slash(fs::weakly_canonical(host_root, ignored));
  if (host_root_.empty()) host_root_ = without_trailing_slash(host_root);
  container_root_ = without_trailing_slash(container_root);
}

std::optional<std::string> ContainerPaths::to_container(const fs::path& host_path) const {
  if (identity()) return host_path.string();
  const fs::path relative = without_trailing_slash(host_path).lexically_relative(host_root_);
  if (relative.empty() || *relative.begin() == "..") return std::nullopt;
  if (relative == ".") return container_root_.string();
  return (container_root_ / relative).string();
}

DockerRuntime::DockerRuntime(Options options) : options_(std::move(options)) {
  if (options_.user.empty())
    options_.user = std::to_string(::geteuid()) + ":" + std::to_string(::getegid());
}

void DockerRuntime::check() const {
  const std::string where = "cannot run commands in container " + options_.container + ": ";
  CommandSpec info;
  info.args = {options_.docker, "info"};
  info.timeout = kDockerCallTimeout;
  const CommandResult answer = run_command(info);
  if (answer.returncode == 127 && answer.stderr_text.starts_with("harness: cannot run"))
    throw Error::io(where + "`" + options_.docker + "` is not on the daemon's PATH (" +
                    trimmed(answer.stderr_text) + ")");
  if (answer.returncode != 0)
    throw Error::io(where + "the container runtime is not usable: `" + options_.docker +
                    " info` failed (" +
                    (answer.signal_name ? *answer.signal_name
                                        : "exit status " + std::to_string(answer.returncode)) +
                    "): " + said(answer));

  CommandSpec inspect;
  inspect.args = {options_.docker, "inspect", "-f", "{{.State.Running}}", options_.container};
  inspect.timeout = kDockerCallTimeout;
  const CommandResult state = run_command(inspect);
  if (state.returncode != 0)
    throw Error::io(where + "`" + options_.docker + " inspect` does not know it: " + said(state));
  const std::string running = trimmed(state.stdout_text);
  if (running != "true")
    throw Error::conflict(where + "it is not running (docker inspect says State.Running is '" +
                          running + "'); start it (`docker start " + options_.container +
                          "`) or unset HARNESS_CONTAINER_ID");
}

std::vector<std::string> DockerRuntime::exec_argv(const CommandSpec& spec,
                                                  const std::string& container_cwd,
                                                  const std::string& token) const {
  std::vector<std::string> argv{options_.docker, "exec", "-w", container_cwd};
  for (const auto& [name, value] : spec.env) {
    if (host_only(name) || name == kRunTokenVariable) continue;
    argv.push_back("-e");
    argv.push_back(name + "=" + value);
  }
  argv.push_back("-e");
  argv.push_back(std::string(kRunTokenVariable) + "=" + token);
  argv.insert(argv.end(),
              {"--user", options_.user, options_.container, "sh", "-c", kLauncher, "harness"});
  argv.insert(argv.end(), spec.args.begin(), spec.args.end());
  return argv;
}

std::vector<std::string> DockerRuntime::kill_argv(const std::string& token,
                                                  const std::string& signal_name) const {
  return {options_.docker, "exec",         "--user", options_.user, options_.container, "sh", "-c",
          kKiller,         "harness-kill", token,    signal_name};
}

void DockerRuntime::signal_command(const std::string& token, int signum) const {
  CommandSpec kill;
  kill.args = kill_argv(token, signum == SIGKILL ? "KILL" : "TERM");
  kill.timeout = kDockerCallTimeout;
  run_command(kill);  // its failure shows as the command still running: SIGKILL, then the client
}

CommandResult DockerRuntime::run(const CommandSpec& spec, std::stop_token stop,
                                 const Reaper* reaper) const {
  if (spec.args.empty()) throw Error::invalid("a command needs at least a program name");
  const fs::path host_cwd = spec.cwd.empty() ? fs::current_path() : fs::absolute(spec.cwd);
  const std::optional<std::string> container_cwd = options_.paths.to_container(host_cwd);
  if (!container_cwd)
    return not_started(spec,
                       "its working directory " + host_cwd.string() + " is outside " +
                           "HARNESS_HOST_ROOT (" + options_.paths.host_root().string() +
                           "), the only part of this machine container " + options_.container +
                           " sees",
                       127, SteadyClock::now());
  return run_in_container(spec, *container_cwd, std::move(stop), reaper);
}

// The `docker exec` client runs here under run_command without a timeout of its own; a watchdog
// thread enforces the command's timeout and cancellation inside the container, and ends the
// client itself only if it outlives even SIGKILL inside.
CommandResult DockerRuntime::run_in_container(const CommandSpec& spec,
                                              const std::string& container_cwd,
                                              std::stop_token stop, const Reaper* reaper) const {
  const auto start = SteadyClock::now();
  const std::string token = random_token();
  CommandSpec client;
  client.args = exec_argv(spec, container_cwd, token);
  client.output_cap = spec.output_cap;
  client.kill_grace = spec.kill_grace;

  std::mutex mutex;
  std::condition_variable_any changed;
  bool finished = false;
  bool timed_out = false;
  int last_signal = 0;
  std::stop_source end_client;
  std::jthread watchdog([&] {
    std::unique_lock lock(mutex);
    const auto done = [&] { return finished; };
    if (spec.timeout) {
      const auto deadline = start + std::clamp(*spec.timeout, milliseconds{0}, kLongestWait);
      if (changed.wait_until(lock, stop, deadline, done)) return;
    } else if (changed.wait(lock, stop, done)) {
      return;
    }
    timed_out = !stop.stop_requested();
    const milliseconds grace = std::clamp(spec.kill_grace, milliseconds{100}, kLongestWait);
    // SIGKILL is sent again while the client runs on: a command docker had not started yet
    // when a signal went out carries the token too once it runs.
    for (int round = 0; round <= kKillRounds; ++round) {
      last_signal = round == 0 ? SIGTERM : SIGKILL;
      lock.unlock();
      signal_command(token, last_signal);
      lock.lock();
      if (changed.wait_for(lock, grace, done)) return;
    }
    end_client.request_stop();  // docker itself does not return: give up on it
  });

  CommandResult result = run_command(client, end_client.get_token(), reaper);
  {
    std::lock_guard guard(mutex);
    finished = true;
  }
  changed.notify_all();
  watchdog.join();

  result.timed_out = timed_out;
  result.duration_ms = std::chrono::duration_cast<milliseconds>(SteadyClock::now() - start).count();
  if (last_signal != 0) {
    // Docker reports a process killed by signal N as 128+N; a client that had to be ended here
    // leaves only what harness sent inside to report.
    const bool by_our_signal = result.returncode == 128 + SIGTERM ||
                               (result.returncode == 128 + SIGKILL && last_signal == SIGKILL);
    if (by_our_signal || result.returncode < 0) {
      const int signum = by_our_signal ? result.returncode - 128 : last_signal;
      result.returncode = -signum;
      result.signal_name = signal_name(signum);
    }
  } else if (launcher_failed(result)) {
    const int status = result.returncode;
    result = not_started(
        spec,
        "container " + options_.container +
            " cannot start `sh`, which harness runs each command under: " + said(result),
        status, start);
  }
  return result;
}

}  // namespace harness
