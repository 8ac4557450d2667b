// `harness web`: the dashboard runs in its own program, harness-web, installed beside harness.
// It links an HTTP library (and through it TLS and compression libraries and the shared C++
// runtime) that every other CLI call would otherwise load at start for nothing.
#pragma once

#include <filesystem>

#include "cli/cli_context.h"

namespace harness {

struct WebArgs {
  int port = 0;       // 0: a free port
  bool open = false;  // open the page in a browser (xdg-open)
};

using WebServer = int (*)(CliContext& ctx, const WebArgs& args);

// Called by harness-web's main: `web` then serves in this process.
void set_web_server(WebServer server);

// Where harness-web is looked for: beside the daemon program (cli/daemon_spawn.h), which is
// this executable, or the one the Python package carries.
std::filesystem::path web_program();

// Serves the dashboard with the server set_web_server registered, or else replaces this
// process with `harness-web [global flags] web --port P [--open]`, which does. Returns the
// exit status; throws Error when harness-web cannot be run.
int run_web(CliContext& ctx, const WebArgs& args);

}  // namespace harness
