#include "cli/verbs_command.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>

#include "cli/worker_id.h"
#include "core/error.h"
#include "exec/git_guard.h"
#include "exec/subprocess.h"
#include "protocol/reply_encoder.h"
#include "protocol/requests.h"

namespace harness {

namespace fs = std::filesystem;

namespace {

// The command of exec or git: words CLI11 took as positionals (a command begun before any "--",
// which then belongs to the command: `harness git log -- file`), and the words after "--".
std::vector<std::string> command_words(std::vector<std::string> positional,
                                       const std::optional<std::vector<std::string>>& after) {
  if (!after) return positional;
  if (!positional.empty()) positional.push_back("--");
  positional.insert(positional.end(), after->begin(), after->end());
  return positional;
}

// command_words, which may not be empty: a usage error otherwise.
std::vector<std::string> required_command(const std::string& verb,
                                          const std::vector<std::string>& positional,
                                          const std::optional<std::vector<std::string>>& after) {
  std::vector<std::string> command = command_words(positional, after);
  if (command.empty())
    throw CLI::ValidationError(verb, "needs a command: harness " + verb + " [OPTIONS] -- ARGS...");
  return command;
}

// --timeout of exec and git: a number of seconds, finite, above 0 and at most the protocol's
// maximum. Returns what is wrong, or nothing (CLI11's Validator contract).
std::string check_timeout(const std::string& text) {
  char* end = nullptr;
  const double seconds = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(seconds) || !(seconds > 0) ||
      seconds > kMaxCommandTimeoutSeconds) {
    return "must be a number of seconds above 0 and at most 1000000000, not '" + text + "'";
  }
  return {};
}

// The caller's whole environment for a command the daemon runs, less the variables `leave_out`
// names (docs/protocol.md, "exec and git"), and with the caller's worker id: the command's
// parent is the daemon, so a `harness task complete` inside it would otherwise find the
// daemon, not the agent, as its agent process, and every agent's nested calls one worker.
std::map<std::string, std::string> caller_environment(bool (*leave_out)(std::string_view)) {
  std::map<std::string, std::string> env;
  for (const auto& [name, value] : process_environment()) {
    if (!leave_out(name)) env[name] = value;
  }
  if (!env.contains("HARNESS_WORKER_ID")) {
    try {
      env["HARNESS_WORKER_ID"] = resolve_worker_id();
    } catch (const Error&) {
      // No identity to pass on: a nested harness call says so itself.
    }
  }
  return env;
}

// The worker a command runs for, as caller_environment found it: its leases are renewed while
// it runs commands.
std::optional<std::string> worker_of(const std::map<std::string, std::string>& env) {
  auto it = env.find("HARNESS_WORKER_ID");
  if (it == env.end() || it->second.empty()) return std::nullopt;
  return it->second;
}

// How a shell reports a command's end: its exit status, or 128 + the signal that killed it.
int shell_status(int returncode) { return returncode >= 0 ? returncode : 128 - returncode; }

struct ExecArgs {
  std::string cwd;
  std::vector<std::string> env;
  double timeout = 0;
  bool exclusive = false;
  bool exit_code = false;
  std::vector<std::string> positional;  // a command begun before "--"
};

// --timeout of exec and git, 0 when not given.
std::optional<std::chrono::milliseconds> timeout_option(double seconds) {
  if (seconds > 0) return command_timeout(seconds);
  return std::nullopt;
}

ExecRequest exec_request(const ExecArgs& a, const std::vector<std::string>& command) {
  ExecRequest request;
  request.args = command;
  request.cwd = a.cwd.empty() ? fs::current_path().string() : fs::absolute(a.cwd).string();
  request.env = caller_environment(is_git_repository_variable);
  for (const std::string& kv : a.env) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      throw CLI::ValidationError("-e", "expects NAME=VALUE, got '" + kv + "'");
    request.env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  request.env_complete = true;
  request.exclusive = a.exclusive;
  request.timeout = timeout_option(a.timeout);
  request.worker_id = worker_of(request.env);
  return request;
}

int run_exec(CliContext& ctx, const ExecArgs& a, const std::vector<std::string>& command) {
  ClientOptions options = ctx.client();
  options.read_timeout.reset();  // the daemon enforces the command's own timeout
  const auto answer = call(options, exec_request(a, command));
  const int status = print_envelope(answer);
  if (!a.exit_code || status != 0) return status;
  return shell_status(std::get<ExecResponse>(answer).returncode);
}

void add_exec(CLI::App& app, CliContext& ctx, Action& action, const SplitArgs& split) {
  auto args = std::make_shared<ExecArgs>();
  Action run = [&ctx, args, after = split.command] {
    return run_exec(ctx, *args, required_command("exec", args->positional, after));
  };
  CLI::App* verb =
      add_verb(app, "exec", "Run a command through the daemon: exec [options] -- CMD ARGS...",
               action, std::move(run));
  verb->add_option("--cwd", args->cwd, "Working directory (default: the current one)");
  verb->add_option("-e,--env", args->env,
                   "Set NAME=VALUE in the command's environment (repeatable); the rest of it is "
                   "yours, less GIT_DIR and the variables like it")
      ->allow_extra_args(false);
  verb->add_option("--timeout", args->timeout,
                   "Seconds before the command's process group is terminated (default 600, at "
                   "most 1000000000)")
      ->check(CLI::Validator(check_timeout, "SECONDS"));
  verb->add_flag("--exclusive", args->exclusive,
                 "Run while holding the repository mutex (as git does)");
  verb->add_flag("--exit-code", args->exit_code,
                 "Exit with the command's status (128+N when signal N ended it, as shells do) "
                 "instead of 0 whenever it ran");
  verb->add_option("command", args->positional, "The command and its arguments, after --");
  verb->footer(
      "Everything after -- is the command, whatever it looks like. It runs with your "
      "environment (less GIT_DIR, GIT_WORK_TREE, GIT_INDEX_FILE and the other variables that "
      "pick a repository) in its own process group; when it ends, whatever it left running in "
      "that group is terminated. Without --exit-code, harness exits 0 when the command ran "
      "(whatever its status), 1 on an error reply, 2 on a usage error.");
}

struct GitArgs {
  double timeout = 0;
  std::vector<std::string> positional;  // git's arguments begun before "--"
};

GitRequest git_request(double timeout, const std::vector<std::string>& args) {
  GitRequest request;
  request.args = args;
  request.cwd = fs::current_path().string();
  request.env = caller_environment(is_refused_git_variable);
  request.env_complete = true;
  request.base64_output = true;
  request.timeout = timeout_option(timeout);
  request.worker_id = worker_of(request.env);
  return request;
}

// Git's output on our stdout and stderr, byte for byte; returns git's exit status, made
// non-zero when git timed out or its output was cut, which is said on stderr.
int print_git_result(const GitResponse& git) {
  const std::string& out = git.stdout_bytes;
  const std::string& err = git.stderr_bytes;
  std::cout.write(out.data(), static_cast<std::streamsize>(out.size()));
  std::cout.flush();
  std::cerr.write(err.data(), static_cast<std::streamsize>(err.size()));
  int status = shell_status(git.returncode);
  if (git.timed_out) {
    std::cerr << "harness: git timed out and was stopped (" << git.signal_name.value_or("killed")
              << "); give it longer with "
              << "`harness git --timeout S -- ...`\n";
    if (status == 0) status = 1;
  }
  if (git.truncated) {
    std::cerr << "harness: git's output was cut: the daemon keeps at most "
              << (kCommandStreamCap >> 20) << " MiB of each stream\n";
    if (status == 0) status = 1;
  }
  return status;
}

// Behaves like git itself: its output and exit status as ours. What git cannot do as git
// would (it timed out, its output was cut) is said on stderr, with a non-zero status.
int run_git(CliContext& ctx, double timeout, const std::vector<std::string>& args) {
  ClientOptions options = ctx.client();
  options.read_timeout.reset();  // the daemon enforces git's own timeout
  const auto answer = call(options, git_request(timeout, args));
  const GitResponse* git = response_or_report(answer);
  if (!git) return 1;
  return print_git_result(*git);
}

void add_git(CLI::App& app, CliContext& ctx, Action& action, const SplitArgs& split) {
  auto args = std::make_shared<GitArgs>();
  Action run = [&ctx, args, after = split.command] {
    return run_git(ctx, args->timeout, required_command("git", args->positional, after));
  };
  CLI::App* verb = add_verb(
      app, "git", "Run git through the daemon, serialised with all other git calls: git -- ARGS...",
      action, std::move(run));
  verb->add_option("--timeout", args->timeout,
                   "Seconds before git is terminated (default 120, at most 1000000000)")
      ->check(CLI::Validator(check_timeout, "SECONDS"));
  verb->add_option("args", args->positional, "git arguments, after --");
  verb->footer(
      "Everything after -- goes to git. Output comes back byte for byte and the exit status is "
      "git's (128+N when signal N ended it); a git that timed out or whose output was cut "
      "(over 16 MiB a stream) says so on stderr and exits non-zero. Git runs with your "
      "environment, less the variables that pick the repository or name programs (GIT_DIR, "
      "GIT_CONFIG_*, GIT_SSH_COMMAND, ...), and can open no editor or prompt: use -m, -F or "
      "--no-edit.");
}

int print_worker_id(bool verbose) {
  const WorkerIdentity identity = resolve_worker_identity();
  std::cout << identity.id << "\n";
  if (verbose) std::cerr << "from " << identity.source << "\n";
  return 0;
}

void add_worker_id(CLI::App& app, Action& action) {
  auto verbose = std::make_shared<bool>(false);
  add_verb(app, "worker-id",
           "Print this worker's id: $HARNESS_WORKER_ID, else the id in $HARNESS_WORKER_ID_FILE, "
           "else one for the agent process harness runs under",
           action, [verbose] { return print_worker_id(*verbose); })
      ->add_flag("--verbose,-v", *verbose, "Also say on stderr where the id comes from");
}

}  // namespace

SplitArgs split_command(const std::vector<std::string>& args) {
  SplitArgs split{args, std::nullopt, {}};
  size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--socket" || arg == "--worktree") {
      ++i;  // its value
    } else if (!arg.starts_with("-")) {
      split.verb = arg;
      break;
    }
  }
  if (split.verb != "exec" && split.verb != "git") return split;
  const auto dashes = std::find(args.begin() + static_cast<std::ptrdiff_t>(i), args.end(), "--");
  if (dashes == args.end()) return split;
  split.harness.assign(args.begin(), dashes);
  split.command.emplace(dashes + 1, args.end());
  return split;
}

std::string command_hint(const SplitArgs& split) {
  if ((split.verb != "exec" && split.verb != "git") || split.command) return {};
  return "put the command after '--': harness " + split.verb + " [OPTIONS] -- " +
         (split.verb == "git" ? "ARGS..." : "CMD ARGS...");
}

void register_command_verbs(CLI::App& app, CliContext& ctx, Action& action,
                            const SplitArgs& split) {
  add_exec(app, ctx, action, split);
  add_git(app, ctx, action, split);
  add_worker_id(app, action);
}

}  // namespace harness
