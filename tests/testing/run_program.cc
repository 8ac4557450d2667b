#include "testing/run_program.h"

#include "exec/subprocess.h"

namespace harness::test_support {

namespace {

RunResult run(const CommandSpec& spec) {
  const CommandResult r = run_command(spec);
  return RunResult{r.returncode, r.stdout_text, r.stderr_text, r.timed_out};
}

}  // namespace

RunResult run_program(const std::vector<std::string>& args,
                      const std::map<std::string, std::string>& env,
                      const std::filesystem::path& cwd, std::chrono::milliseconds timeout) {
  CommandSpec spec;
  spec.args = args;
  spec.env = env;
  spec.cwd = cwd.string();
  spec.timeout = timeout;
  spec.kill_grace = std::chrono::milliseconds(500);
  return run(spec);
}

RunResult run_harness(const std::vector<std::string>& args, const std::filesystem::path& socket,
                      const std::filesystem::path& worktree,
                      const std::map<std::string, std::string>& env) {
  CommandSpec spec;
  spec.args = {HARNESS_BINARY};
  spec.args.insert(spec.args.end(), args.begin(), args.end());
  spec.env = env;
  spec.env["HARNESS_SOCKET"] = socket.string();
  spec.env["HARNESS_WORKTREE"] = worktree.string();
  spec.cwd = worktree.string();
  spec.timeout = std::chrono::seconds(60);
  return run(spec);
}

}  // namespace harness::test_support
