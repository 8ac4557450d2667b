#include "cli/cli.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include <CLI/CLI.hpp>

#include "cli/client.h"
#include "cli/git_head.h"
#include "cli/hook_command.h"
#include "cli/hooks.h"
#include "cli/paths.h"
#include "cli/worker_id.h"
#include "core/base64.h"
#include "core/error.h"
#include "core/unique_fd.h"
#include "exec/git_guard.h"
#include "exec/reaper.h"
#include "exec/subprocess.h"
#include "log/trajectory_reader.h"
#include "server/command_reply.h"
#include "server/daemon.h"
#include "server/daemon_lock.h"
#include "server/protocol.h"
#include "store/open_store.h"
#include "store/state_dir.h"

namespace harness {

namespace fs = std::filesystem;

namespace {

constexpr auto kStateReplyTimeout = std::chrono::seconds(120);

// Everything a verb may need, resolved only when first asked for: `worker-id` and `log`
// must work without a daemon, and `log` without a socket directory.
class Context {
 public:
  std::string socket_flag, worktree_flag;
  bool any_worktree = false;

  const fs::path& worktree() {
    if (worktree_.empty()) {
      if (!worktree_flag.empty()) ::setenv("HARNESS_WORKTREE", worktree_flag.c_str(), 1);
      worktree_ = resolve_worktree();
    }
    return worktree_;
  }

  fs::path socket() {
    if (!socket_flag.empty()) ::setenv("HARNESS_SOCKET", socket_flag.c_str(), 1);
    return resolve_socket(worktree());
  }

  ClientOptions client(bool autospawn = true) {
    if (!socket_flag.empty()) ::setenv("HARNESS_SOCKET", socket_flag.c_str(), 1);
    ClientOptions options = client_options_from_env(worktree());
    options.read_timeout = kStateReplyTimeout;
    options.autospawn = autospawn;
    if (any_worktree) options.check_worktree = false;
    return options;
  }

 private:
  fs::path worktree_;
};

// Prints the whole reply envelope on one line; exit 0 for "ok", 1 for "error".
int print_envelope(const Json& reply) {
  std::cout << reply.dump(-1, ' ', false, Json::error_handler_t::replace) << "\n";
  return reply.value("status", "") == "ok" ? 0 : 1;
}

// For verbs that print only the data: the error message goes to stderr.
bool report_error(const Json& reply) {
  if (reply.value("status", "") == "ok") return false;
  std::cerr << "harness: " << reply.value("message", std::string("unknown error")) << "\n";
  return true;
}

std::string read_input(const std::string& file) {
  std::stringstream text;
  if (file.empty() || file == "-") {
    text << std::cin.rdbuf();
  } else {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw Error::invalid("cannot read " + file);
    text << in.rdbuf();
  }
  return text.str();
}

// State for the hooks, read straight from the database: a hook runs on every agent event
// and must neither start a daemon in every repository nor wait for one.
std::unique_ptr<Store> open_existing_store(const fs::path& worktree) {
  return open_store({worktree, StoreConfig::Use::kRead}).store;
}

int print_decision(const HookDecision& d) {
  std::cout << (d.allow ? "allow" : "deny: " + d.reason) << "\n";
  return d.allow ? 0 : 1;
}

int cmd_ping(Context& ctx) {
  const Json reply = send_request(ctx.client(), {{"command", "ping"}});
  if (report_error(reply)) return 1;
  std::cout << "ok\n";
  return 0;
}

int cmd_get_state(Context& ctx) {
  const Json reply = send_request(ctx.client(), {{"command", "get_state"}});
  if (report_error(reply)) return 1;
  if (reply["data"].is_null()) {
    std::cout << "No active workflow\n";
    return 1;
  }
  std::cout << reply["data"].dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
  return 0;
}

int cmd_status(Context& ctx, bool as_json) {
  const Json reply = send_request(ctx.client(), {{"command", "status"}});
  if (report_error(reply)) return 1;
  const Json& c = reply["data"];
  if (c.is_null()) {
    std::cout << (as_json ? "null" : "No active workflow") << "\n";
    return 1;
  }
  if (as_json) {
    std::cout << c.dump() << "\n";
  } else {
    std::cout << c["completed"] << "/" << c["total"] << " completed, " << c["running"]
              << " running, " << c["pending"] << " pending, " << c["failed"] << " failed\n";
  }
  return 0;
}

// The plan `update-state` sends, checked here so that errors speak of the input, not of the
// request field it travels in.
Json read_updates(const std::string& file) {
  const std::string where = file.empty() || file == "-" ? "stdin" : file;
  const std::string text = read_input(file);
  Json updates;
  try {
    updates = parse_json(text);
  } catch (const Error& e) {
    if (e.kind() != Error::Kind::kInvalidArgument) throw;
    throw Error::invalid(where + " is not valid JSON: " + e.what());
  }
  if (!updates.is_object() || !updates.contains("tasks"))
    throw Error::invalid(where + " must hold a JSON object {\"tasks\": {ID: TASK, ...}}, not " +
                         (updates.is_object() ? std::string("an object without 'tasks'")
                                              : std::string("a JSON ") + updates.type_name()));
  return updates;
}

int cmd_update_state(Context& ctx, const std::string& file) {
  const Json updates = read_updates(file);
  const Json reply =
      send_request(ctx.client(), {{"command", "update_state"}, {"updates", updates}});
  if (report_error(reply)) return 1;
  std::cout << reply["data"].dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
  return 0;
}

int cmd_plan_import(Context& ctx, const std::string& file, bool force) {
  const Json reply = send_request(
      ctx.client(),
      {{"command", "plan_import"}, {"file", fs::absolute(file).string()}, {"force", force}});
  if (report_error(reply)) return 1;
  std::cout << "Imported " << reply["data"]["imported"] << " tasks from " << file << "\n";
  return 0;
}

int cmd_worker_id(bool verbose) {
  const WorkerIdentity identity = resolve_worker_identity();
  std::cout << identity.id << "\n";
  if (verbose) std::cerr << "from " << identity.source << "\n";
  return 0;
}

int cmd_claim(Context& ctx) {
  return print_envelope(
      send_request(ctx.client(), {{"command", "task_claim"}, {"worker_id", resolve_worker_id()}}));
}

int cmd_complete(Context& ctx, const std::string& id) {
  Json request{{"command", "task_complete"}, {"task_id", id}, {"worker_id", resolve_worker_id()}};
  if (auto head = current_head(ctx.worktree())) request["commit"] = *head;
  return print_envelope(send_request(ctx.client(), request));
}

struct ExecArgs {
  std::string cwd;
  std::vector<std::string> env;
  double timeout = 0;
  bool exclusive = false;
  bool exit_code = false;
};

// The caller's whole environment for a command the daemon runs, less the variables `leave_out`
// names (docs/protocol.md, "exec and git"), and with the caller's worker id: the command's
// parent is the daemon, so a `harness task complete` inside it would otherwise find the
// daemon, not the agent, as its agent process, and every agent's nested calls one worker.
Json caller_environment(bool (*leave_out)(std::string_view)) {
  Json env = Json::object();
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

Json exec_request(const ExecArgs& a, const std::vector<std::string>& command) {
  Json env = caller_environment(is_git_repository_variable);
  for (const std::string& kv : a.env) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      throw CLI::ValidationError("-e", "expects NAME=VALUE, got '" + kv + "'");
    env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  Json request{{"command", "exec"},
               {"args", command},
               {"cwd", a.cwd.empty() ? fs::current_path().string() : fs::absolute(a.cwd).string()},
               {"env", env},
               {"env_complete", true},
               {"exclusive", a.exclusive}};
  if (a.timeout > 0) request["timeout"] = a.timeout;
  return request;
}

// How a shell reports a command's end: its exit status, or 128 + the signal that killed it.
int shell_status(int returncode) { return returncode >= 0 ? returncode : 128 - returncode; }

int cmd_exec(Context& ctx, const ExecArgs& a, const std::vector<std::string>& command) {
  ClientOptions options = ctx.client();
  options.read_timeout.reset();  // the daemon enforces the command's own timeout
  const Json reply = send_request(options, exec_request(a, command));
  const int status = print_envelope(reply);
  if (!a.exit_code || status != 0) return status;
  return shell_status(reply["data"].value("returncode", 1));
}

// Behaves like git itself: its output, byte for byte, on our stdout and stderr, and its exit
// status as ours. What git cannot do as git would (it timed out, its output was cut) is said on
// stderr, with a non-zero status.
int cmd_git(Context& ctx, double timeout, const std::vector<std::string>& args) {
  ClientOptions options = ctx.client();
  options.read_timeout.reset();
  Json request{{"command", "git"},
               {"args", args},
               {"cwd", fs::current_path().string()},
               {"env", caller_environment(is_refused_git_variable)},
               {"env_complete", true},
               {"output_encoding", "base64"}};
  if (timeout > 0) request["timeout"] = timeout;
  const Json reply = send_request(options, request);
  if (report_error(reply)) return 1;
  const Json& d = reply["data"];
  const std::string out = decode_base64(d.value("stdout", ""));
  const std::string err = decode_base64(d.value("stderr", ""));
  std::cout.write(out.data(), static_cast<std::streamsize>(out.size()));
  std::cout.flush();
  std::cerr.write(err.data(), static_cast<std::streamsize>(err.size()));
  int status = shell_status(d.value("returncode", 1));
  if (d.value("timed_out", false)) {
    std::cerr << "harness: git timed out and was stopped ("
              << d.value("signal_name", std::string("killed")) << "); give it longer with "
              << "`harness git --timeout S -- ...`\n";
    if (status == 0) status = 1;
  }
  if (d.value("truncated", false)) {
    std::cerr << "harness: git's output was cut: the daemon keeps at most "
              << (kCommandStreamCap >> 20) << " MiB of each stream\n";
    if (status == 0) status = 1;
  }
  return status;
}

int cmd_shutdown(Context& ctx) {
  try {
    const Json reply = send_request(ctx.client(false), {{"command", "shutdown"}});
    if (report_error(reply)) return 1;
    std::cout << "Shutdown requested\n";
  } catch (const DaemonNotRunning&) {
    std::cout << "Daemon not running\n";
  }
  return 0;
}

// `ready_fd` (-1: none) is the pipe of the client that spawned this daemon (spawn_daemon): it
// learns "ready" once the socket listens, "busy" when another daemon holds the worktree, and
// end of file when this one failed.
int cmd_daemon(Context& ctx, int ready_fd, std::size_t max_commands) {
  UniqueFd ready(ready_fd);
  if (ready) ::fcntl(ready.get(), F_SETFD, FD_CLOEXEC);  // no command of ours inherits it
  const auto tell = [&](std::string_view word) {
    // A client that gave up waiting has closed its end: nothing to tell then.
    if (ready) {
      [[maybe_unused]] auto n = ::write(ready.get(), word.data(), word.size());
      ready.reset();
    }
  };
  std::optional<Daemon> daemon;
  try {
    Daemon::Options options;
    options.service.max_commands = max_commands;
    options.worktree = ctx.worktree();
    options.socket_path = ctx.socket();
    options.stop_on_signals = true;
    options.reap_commands = true;
    fs::current_path(options.worktree);  // never pin a directory the caller may delete
    daemon.emplace(std::move(options));
  } catch (const std::exception& e) {
    // In daemon.log before the pipe closes: the client shows it as the reason.
    std::cerr << "harness: " << e.what() << std::endl;
    if (dynamic_cast<const DaemonBusy*>(&e)) tell("busy\n");
    return 1;
  }
  tell("ready\n");
  daemon->run();
  return 0;
}

int cmd_log(Context& ctx, std::size_t tail, bool follow) {
  const fs::path file = trajectory_path(ctx.worktree());
  for (const std::string& line : read_last_lines(file, tail)) std::cout << line << "\n";
  std::cout.flush();
  if (!follow) return 0;
  std::stop_source never;  // ends with the process (Ctrl-C)
  follow_lines(
      file, file_size_or_zero(file),
      [](std::string_view line) {
        std::cout << line << std::endl;
        return true;
      },
      never.get_token());
  return 0;
}

int cmd_session_start(Context& ctx) {
  auto store = open_existing_store(ctx.worktree());
  std::cout << session_start_output(store ? store->status_counts() : std::nullopt) << "\n";
  return 0;
}

int cmd_check_state(Context& ctx) {
  auto store = open_existing_store(ctx.worktree());
  return print_decision(check_state(store ? store->status_counts() : std::nullopt));
}

int cmd_check_commit(Context& ctx) {
  auto store = open_existing_store(ctx.worktree());
  if (!store) return print_decision({});
  const std::string worker = resolve_worker_id();
  return print_decision(check_commit(store->load(), store->completion_mark(worker),
                                     current_head(ctx.worktree()), worker));
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

// The command words of `exec` and `git`: everything after the first "--" that follows the verb,
// whatever it looks like (-c, -e, --env=...), so CLI11 never sees it as an option.
struct SplitArgs {
  std::vector<std::string> harness;                 // for CLI11
  std::optional<std::vector<std::string>> command;  // set when the verb is exec or git with "--"
  std::string verb;
};

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

// The command of exec or git: words CLI11 took as positionals (a command begun before any "--",
// which then belongs to the command: `harness git log -- file`), and the words after "--".
std::vector<std::string> command_words(std::vector<std::string> positional,
                                       const std::optional<std::vector<std::string>>& after) {
  if (!after) return positional;
  if (!positional.empty()) positional.push_back("--");
  positional.insert(positional.end(), after->begin(), after->end());
  return positional;
}

// The verb path of `args` ("task bogus") when its last word names no subcommand of the app
// (or of the verb) before it: CLI11 itself would only say "A subcommand is required". The
// first word that is neither an option nor the value of --socket/--worktree is the verb.
struct UnknownVerb {
  std::string path;
  CLI::App* parent;
};

std::optional<UnknownVerb> unknown_verb(CLI::App& app, const std::vector<std::string>& args) {
  CLI::App* parent = &app;
  std::string path;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--socket" || args[i] == "--worktree") {
      ++i;
      continue;
    }
    if (args[i].empty() || args[i].front() == '-') continue;
    path += (path.empty() ? "" : " ") + args[i];
    auto named =
        parent->get_subcommands([&](const CLI::App* sub) { return sub->check_name(args[i]); });
    if (named.empty()) return UnknownVerb{path, parent};
    parent = named.front();
    if (parent->get_subcommands([](const CLI::App*) { return true; }).empty()) break;
  }
  return std::nullopt;
}

std::string verb_list(CLI::App& app) {
  std::string list;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; }))
    list += (list.empty() ? "" : ", ") + sub->get_name();
  return list;
}

}  // namespace

int run_cli(const std::vector<std::string>& args) {
  CLI::App app{
      "harness: many agents, one plan. Coordinates parallel workers over a DAG of tasks in one git "
      "worktree.",
      "harness"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "harness " HARNESS_VERSION);
  app.fallthrough();  // --socket and --worktree may also follow the verb (harness daemon --socket
                      // S)
  app.footer(
      "Environment: HARNESS_SOCKET (daemon socket), HARNESS_WORKTREE (worktree), HARNESS_TIMEOUT "
      "(seconds to wait "
      "for a starting daemon, default 10), HARNESS_ANY_WORKTREE=1 (accept a daemon serving "
      "another worktree), HARNESS_WORKER_ID / HARNESS_WORKER_ID_FILE (worker identity; by "
      "default one per agent process).");
  Context ctx;
  app.add_option("--socket", ctx.socket_flag,
                 "Daemon socket (default: $HARNESS_SOCKET or one per worktree)");
  app.add_option("--worktree", ctx.worktree_flag,
                 "Worktree (default: $HARNESS_WORKTREE, the git top level, or cwd)");
  app.add_flag("--any-worktree", ctx.any_worktree,
               "Talk to the daemon on the socket even if it serves another worktree "
               "(default: refuse; also HARNESS_ANY_WORKTREE=1)");

  std::function<int()> action;
  auto verb = [&](const char* name, const char* help, std::function<int()> run) {
    CLI::App* sub = app.add_subcommand(name, help);
    sub->callback([&action, run] { action = run; });
    return sub;
  };

  verb("ping", "Check that the daemon answers (starts it if needed); prints 'ok'",
       [&] { return cmd_ping(ctx); });
  verb("get-state", "Print the workflow as JSON ('No active workflow' and exit 1 when none)",
       [&] { return cmd_get_state(ctx); });
  bool status_json = false;
  verb("status", "Print task counts by status", [&] {
    return cmd_status(ctx, status_json);
  })->add_flag("--json", status_json, "Print the counts as JSON");
  std::string update_file;
  verb("update-state", "Replace the workflow's tasks with {\"tasks\": {...}} from --file or stdin",
       [&] { return cmd_update_state(ctx, update_file); })
      ->add_option("--file,-f", update_file, "JSON file (default: stdin, also '-')")
      ->check(CLI::Validator(
          [](std::string& file) { return file == "-" ? std::string() : CLI::ExistingFile(file); },
          "FILE"));

  CLI::App* plan = app.add_subcommand("plan", "Plan operations");
  plan->require_subcommand(1);
  std::string plan_file;
  bool force = false;
  CLI::App* import = plan->add_subcommand(
      "import", "Import a plan: a JSON list or map of tasks (or {\"tasks\": ...})");
  import->add_option("--file,-f", plan_file, "Plan file")->required()->check(CLI::ExistingFile);
  import->add_flag("--force", force, "Replace a workflow that still has unfinished tasks");
  import->callback([&] { action = [&] { return cmd_plan_import(ctx, plan_file, force);
};
}  // namespace harness
);

CLI::App* task = app.add_subcommand("task", "Claim and complete tasks");
task->require_subcommand(1);
task->add_subcommand("claim",
                     "Claim the next ready task for this worker (prints the reply envelope)")
    ->callback([&] { action = [&] { return cmd_claim(ctx); }; });
std::string task_id;
CLI::App* complete = task->add_subcommand(
    "complete", "Complete a task this worker holds (prints the reply envelope)");
complete->add_option("--id", task_id, "Task id")->required();
complete->callback([&] { action = [&] { return cmd_complete(ctx, task_id); }; });

ExecArgs exec_args;
std::vector<std::string> exec_command;
const SplitArgs split = split_command(args);
const auto command_of = [&split](const std::vector<std::string>& positional, const char* verb) {
  std::vector<std::string> command = command_words(positional, split.command);
  if (command.empty())
    throw CLI::ValidationError(
        verb, std::string("needs a command: harness ") + verb + " [OPTIONS] -- ARGS...");
  return command;
};
CLI::App* exec = verb("exec", "Run a command through the daemon: exec [options] -- CMD ARGS...",
                      [&] { return cmd_exec(ctx, exec_args, command_of(exec_command, "exec")); });
exec->add_option("--cwd", exec_args.cwd, "Working directory (default: the current one)");
exec->add_option("-e,--env", exec_args.env,
                 "Set NAME=VALUE in the command's environment (repeatable); the rest of it is "
                 "yours, less GIT_DIR and the variables like it")
    ->allow_extra_args(false);
exec->add_option("--timeout", exec_args.timeout,
                 "Seconds before the command's process group is terminated (default 600, at "
                 "most 1000000000)")
    ->check(CLI::Validator(check_timeout, "SECONDS"));
exec->add_flag("--exclusive", exec_args.exclusive,
               "Run while holding the repository mutex (as git does)");
exec->add_flag("--exit-code", exec_args.exit_code,
               "Exit with the command's status (128+N when signal N ended it, as shells do) "
               "instead of 0 whenever it ran");
exec->add_option("command", exec_command, "The command and its arguments, after --");
exec->footer(
    "Everything after -- is the command, whatever it looks like. It runs with your environment "
    "(less GIT_DIR, GIT_WORK_TREE, GIT_INDEX_FILE and the other variables that pick a "
    "repository) in its own process group; when it ends, whatever it left running in that "
    "group is terminated. Without --exit-code, harness exits 0 when the command ran (whatever "
    "its status), 1 on an error reply, 2 on a usage error.");

std::vector<std::string> git_args;
double git_timeout = 0;
CLI::App* git =
    verb("git", "Run git through the daemon, serialised with all other git calls: git -- ARGS...",
         [&] { return cmd_git(ctx, git_timeout, command_of(git_args, "git")); });
git->add_option("--timeout", git_timeout,
                "Seconds before git is terminated (default 120, at most 1000000000)")
    ->check(CLI::Validator(check_timeout, "SECONDS"));
git->add_option("args", git_args, "git arguments, after --");
git->footer(
    "Everything after -- goes to git. Output comes back byte for byte and the exit status is "
    "git's (128+N when signal N ended it); a git that timed out or whose output was cut (over "
    "16 MiB a stream) says so on stderr and exits non-zero. Git runs with your environment, "
    "less the variables that pick the repository or name programs (GIT_DIR, GIT_CONFIG_*, "
    "GIT_SSH_COMMAND, ...), and can open no editor or prompt: use -m, -F or --no-edit.");

bool worker_id_verbose = false;
verb("worker-id",
     "Print this worker's id: $HARNESS_WORKER_ID, else the id in $HARNESS_WORKER_ID_FILE, else "
     "one for the agent process harness runs under",
     [&] { return cmd_worker_id(worker_id_verbose); })
    ->add_flag("--verbose,-v", worker_id_verbose, "Also say on stderr where the id comes from");
verb("shutdown", "Stop the daemon", [&] { return cmd_shutdown(ctx); });
int ready_fd = -1;
std::size_t max_commands = Service::Options{}.max_commands;
CLI::App* daemon_verb = verb("daemon", "Run the daemon in the foreground",
                             [&] { return cmd_daemon(ctx, ready_fd, max_commands); });
daemon_verb
    ->add_option("--ready-fd", ready_fd,
                 "Descriptor to write 'ready' to once listening (used when a client spawns it)")
    ->group("");
daemon_verb
    ->add_option("--max-commands", max_commands,
                 "exec/git commands run at once; more wait in a queue, in order")
    ->check(CLI::Range(std::size_t{1}, std::size_t{4096}))
    ->capture_default_str();
// Started by the daemon itself (exec/reaper.h); hidden from --help.
verb("reaper", "Kill the daemon's commands' process groups once it is gone", [] {
  return run_reaper(kReaperFd);
})->group("");
long long tail = 20;
bool follow = false;
CLI::App* log = verb("log", "Print the trajectory (event log)",
                     [&] { return cmd_log(ctx, static_cast<std::size_t>(tail), follow); });
log->add_option("--tail,-n", tail, "Number of last events to print")
    ->capture_default_str()
    ->check(CLI::Validator(
        [](std::string& value) {
          return value.rfind('-', 0) == 0 ? std::string("must be 0 or more, not " + value)
                                          : std::string();
        },
        "N>=0"));
log->add_flag("--follow,-f", follow, "Keep printing new events");
verb("session-start", "Agent hook: report a workflow to resume",
     [&] { return cmd_session_start(ctx); });
verb("check-state", "Agent hook: deny while the workflow has unfinished tasks",
     [&] { return cmd_check_state(ctx); });
verb("check-commit", "Agent hook: deny when the held task's work is not committed",
     [&] { return cmd_check_commit(ctx); });
std::string hook_event;
verb("hook",
     "Claude Code hook: reads the hook's JSON payload on stdin and answers by Claude Code's "
     "contract (EVENT: session-start, stop, subagent-stop, pre-compact)",
     [&] {
       return run_hook(hook_event, std::cin, std::cout, std::cerr, [&] { return ctx.worktree(); });
     })
    ->add_option("event", hook_event, "session-start, stop, subagent-stop or pre-compact")
    ->required();

if (auto unknown = unknown_verb(app, split.harness)) {
  std::cerr << "harness: unknown command '" << unknown->path
            << "'\nCommands: " << verb_list(*unknown->parent)
            << "\nRun 'harness --help' for more.\n";
  return 2;
}
// CLI11 consumes from the back.
std::vector<std::string> reversed(split.harness.rbegin(), split.harness.rend());
try {
  app.parse(reversed);
} catch (const CLI::CallForHelp& e) {
  return app.exit(e);
} catch (const CLI::CallForAllHelp& e) {
  return app.exit(e);
} catch (const CLI::CallForVersion& e) {
  return app.exit(e);
} catch (const CLI::ParseError& e) {
  app.exit(e);
  const bool unexpected = dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr;
  if (unexpected && (split.verb == "exec" || split.verb == "git") && !split.command) {
    std::cerr << "harness: put the command after '--': harness " << split.verb << " [OPTIONS] -- "
              << (split.verb == "git" ? "ARGS..." : "CMD ARGS...") << "\n";
  }
  return 2;
}
try {
  return action();
} catch (const CLI::ValidationError& e) {
  std::cerr << "harness: " << e.what() << "\n";
  return 2;
} catch (const DaemonNotRunning& e) {
  std::cerr << "harness: " << e.what() << "\n";
  return 1;
} catch (const std::exception& e) {
  std::cerr << "harness: " << e.what() << "\n";
  return 1;
}
}

}  // namespace harness
