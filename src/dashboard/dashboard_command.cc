#include "dashboard/dashboard_command.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <iostream>
#include <thread>

#include "cli/status_report.h"
#include "core/error.h"
#include "store/state_dir.h"
#include "web/access_token.h"
#include "web/dashboard_server.h"
#include "web/event_hub.h"
#include "web/state_cache.h"

extern char** environ;

namespace harness {
namespace {

// Starts `xdg-open url` and forgets it; says so on stderr when it cannot.
void open_in_browser(const std::string& url) {
  std::string program = "xdg-open";
  char* argv[] = {program.data(), const_cast<char*>(url.c_str()), nullptr};
  pid_t pid = 0;
  if (::posix_spawnp(&pid, argv[0], nullptr, nullptr, argv, environ) != 0) {
    std::cerr << "harness: cannot run xdg-open; open the URL above yourself\n";
    return;
  }
  std::thread([pid] { ::waitpid(pid, nullptr, 0); }).detach();
}

}  // namespace

int serve_dashboard(CliContext& ctx, const WebArgs& args) {
  // Blocked before any thread starts, so that every thread inherits the mask and the one
  // sigwait below takes them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&stop_signals, s);
  ::pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  const ClientOptions client = ctx.client();
  // Reach (or start) the daemon now: an error belongs on the terminal, not on the page.
  const auto ping = call(client, PingRequest{});
  if (const auto* error = std::get_if<ErrorAnswer>(&ping)) throw Error::io(error->message);
  EventHub events(trajectory_path(ctx.worktree()));
  StateCache state([client] { return fetch_status(client).workflow; }, events);
  DashboardServer server(DashboardConfig{args.port, make_access_token()}, state, events);
  std::cout << server.url() << std::endl;
  std::cerr << "harness: serving the dashboard of " << ctx.worktree().string() << " until Ctrl-C"
            << std::endl;
  if (args.open) open_in_browser(server.url());

  std::thread serving([&server] { server.run(); });
  int signal = 0;
  ::sigwait(&stop_signals, &signal);
  server.stop();
  serving.join();
  return 0;
}

}  // namespace harness
