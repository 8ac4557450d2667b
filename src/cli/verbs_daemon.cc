#include "cli/verbs_daemon.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

#include "core/posix.h"
#include "exec/reaper.h"
#include "server/daemon.h"
#include "server/daemon_lock.h"
#include "store/state_dir.h"

namespace harness {

namespace fs = std::filesystem;

namespace {

// Never starts a daemon only to stop it.
int run_shutdown(CliContext& ctx, const CLI::App&) {
  try {
    if (!response_or_report(call(ctx.client(false), ShutdownRequest{}))) return 1;
    std::cout << "Shutdown requested\n";
  } catch (const DaemonNotRunning&) {
    std::cout << "Daemon not running\n";
  }
  return 0;
}

constexpr CommandVerb kCommandVerbs[] = {
    {"shutdown", "Stop the daemon", run_shutdown},
};

// The pipe of the client that spawned this daemon (spawn_daemon), if any: it learns "ready"
// once the socket listens, "busy" when another daemon holds the worktree, and end of file
// when this one failed.
class ReadyPipe {
 public:
  // `fd` -1: no client waits.
  explicit ReadyPipe(int fd) : fd_(fd) {
    if (fd_) ::fcntl(fd_.get(), F_SETFD, FD_CLOEXEC);  // no command of ours inherits it
  }

  // Says `word` and closes the pipe; a client that gave up waiting has closed its end: nothing
  // to tell then.
  void tell(std::string_view word) {
    if (!fd_) return;
    [[maybe_unused]] auto n = ::write(fd_.get(), word.data(), word.size());
    fd_.reset();
  }

 private:
  UniqueFd fd_;
};

struct DaemonArgs {
  int ready_fd = -1;
  std::optional<std::string> store;
  std::optional<std::string> plan;
  std::size_t max_commands = Service::Options{}.max_commands;
  std::size_t max_plan_request_mib = RequestLimits{}.plan_line_bytes >> 20;
  std::string container;  // --container: exec and git run in it (else $HARNESS_CONTAINER_ID)
};

// The daemon, listening; nothing when it cannot start, which it says on stderr (and "busy" on
// the pipe when another daemon holds the worktree).
std::optional<Daemon> start_daemon(CliContext& ctx, const DaemonArgs& args, ReadyPipe& ready) {
  try {
    Daemon::Options options;
    options.service.max_commands = args.max_commands;
    options.request_limits.plan_line_bytes = args.max_plan_request_mib << 20;
    options.worktree = ctx.worktree();
    options.store = args.store;
    options.plan = args.plan;
    options.socket_path = ctx.socket();
    options.stop_on_signals = true;
    options.reap_commands = true;
    options.runtime = RuntimeConfig::from_environment(
        args.container.empty() ? std::nullopt : std::optional(args.container));
    fs::current_path(options.worktree);  // never pin a directory the caller may delete
    return std::optional<Daemon>(std::in_place, std::move(options));
  } catch (const std::exception& e) {
    // In daemon.log before the pipe closes: the client shows it as the reason.
    std::cerr << "harness: " << e.what() << std::endl;
    if (dynamic_cast<const DaemonBusy*>(&e)) ready.tell("busy\n");
    return std::nullopt;
  }
}

int run_daemon(CliContext& ctx, const DaemonArgs& args) {
  ReadyPipe ready(args.ready_fd);
  std::optional<Daemon> daemon = start_daemon(ctx, args, ready);
  if (!daemon) return 1;
  ready.tell("ready\n");
  daemon->run();
  return 0;
}

void add_daemon(CLI::App& app, CliContext& ctx, Action& action) {
  auto args = std::make_shared<DaemonArgs>();
  CLI::App* verb = add_verb(app, "daemon", "Run the daemon in the foreground", action,
                            [&ctx, args] { return run_daemon(ctx, *args); });
  verb->add_option("--ready-fd", args->ready_fd,
                   "Descriptor to write 'ready' to once listening (used when a client spawns it)")
      ->group("");
  verb->add_option(
      "--store", args->store,
      "Where the plan lives: \"sqlite\" (this worktree's own database, the default) or "
      "a postgresql:// URL that daemons on several machines share (default: "
      "$HARNESS_STORE, else what this worktree's last daemon used)");
  verb->add_option("--plan", args->plan,
                   "With PostgreSQL, the plan's name in the database (default: $HARNESS_PLAN, "
                   "else the repository's origin URL, else its directory's name)");
  verb->add_option("--max-commands", args->max_commands,
                   "exec/git commands run at once; more wait in a queue, in order")
      ->check(CLI::Range(std::size_t{1}, std::size_t{4096}))
      ->capture_default_str();
  verb->add_option("--max-plan-request-mib", args->max_plan_request_mib,
                   "Longest update_state or plan_import request line with inline tasks, in MiB "
                   "(one is read at a time; a larger plan is imported as a file)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1024}))
      ->capture_default_str();
  verb->add_option("--container", args->container,
                   "Run exec and git in this running Docker container, through `docker exec` "
                   "(default: $HARNESS_CONTAINER_ID; paths map with $HARNESS_HOST_ROOT and "
                   "$HARNESS_CONTAINER_ROOT)");
}

// Started by the daemon itself (exec/reaper.h); hidden from --help.
void add_reaper(CLI::App& app, Action& action) {
  add_verb(app, "reaper", "Kill the daemon's commands' process groups once it is gone", action, [] {
    return run_reaper(kReaperFd);
  })->group("");
}

}  // namespace

void register_daemon_verbs(CLI::App& app, CliContext& ctx, Action& action) {
  add_command_verbs(app, kCommandVerbs, ctx, action);
  add_daemon(app, ctx, action);
  add_reaper(app, action);
}

}  // namespace harness
