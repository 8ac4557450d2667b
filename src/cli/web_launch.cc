#include "cli/web_launch.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "cli/daemon_spawn.h"
#include "core/error.h"

namespace harness {
namespace {

WebServer registered_server = nullptr;

}  // namespace

void set_web_server(WebServer server) { registered_server = server; }

std::filesystem::path web_program() { return daemon_program().parent_path() / "harness-web"; }

int run_web(CliContext& ctx, const WebArgs& args) {
  if (registered_server) return registered_server(ctx, args);
  const std::string program = web_program().string();
  std::vector<std::string> words{program};
  if (!ctx.flags.socket.empty()) words.insert(words.end(), {"--socket", ctx.flags.socket});
  if (!ctx.flags.worktree.empty()) words.insert(words.end(), {"--worktree", ctx.flags.worktree});
  if (ctx.flags.any_worktree) words.push_back("--any-worktree");
  words.insert(words.end(), {"web", "--port", std::to_string(args.port)});
  if (args.open) words.push_back("--open");
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  ::execv(program.c_str(), argv.data());
  throw Error::from_errno("cannot run " + program +
                          " (harness web serves the dashboard from that program, built and "
                          "installed beside harness)");
}

}  // namespace harness
