#include "cli/hook_command.h"

#include <unistd.h>

#include <cctype>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <vector>

#include "cli/agent_process.h"
#include "cli/git_head.h"
#include "cli/hooks.h"
#include "cli/mcp_workers.h"
#include "cli/worker_id.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/json.h"
#include "exec/subprocess.h"
#include "store/open_store.h"
#include "store/state_dir.h"

namespace harness {
namespace {

namespace fs = std::filesystem;

// Claude Code's payloads are a few hundred bytes; more than this is not one.
constexpr std::size_t kMaxPayloadBytes = 1 << 20;

std::string read_payload(std::istream& in) {
  std::string text;
  char buf[4096];
  while (text.size() <= kMaxPayloadBytes && in.read(buf, sizeof buf).gcount() > 0)
    text.append(buf, static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxPayloadBytes) throw Error::invalid("the hook payload is over 1 MiB");
  return text;
}

// Who this session may be working as. An id set in the environment is the only one; otherwise
// the session's own id and the agent process's (the one its commands get without
// $CLAUDE_ENV_FILE) both are.
struct SessionWorkers {
  std::vector<std::string> ids;
  bool configured = false;
  std::optional<std::string> session_id;
  std::optional<std::string> agent_id;  // the agent process's
};

// The MCP servers of the same agent (mcp_workers.h) claim under their own ids: those count
// as the session's too.
SessionWorkers session_workers(const HookPayload& payload, const fs::path& worktree) {
  SessionWorkers w;
  if (auto configured = configured_worker_identity()) {
    w.ids = {configured->id};
    w.configured = true;
    return w;
  }
  w.session_id = session_worker_id(payload.session_id);
  if (w.session_id) w.ids.push_back(*w.session_id);
  if (auto agent = current_agent_process()) {
    w.agent_id = agent->worker_id;
    w.ids.push_back(agent->worker_id);
    for (std::string& mcp : mcp_worker_records(worktree).workers_of(agent->worker_id))
      w.ids.push_back(std::move(mcp));
  }
  return w;
}

// Tracked changes and untracked files git does not ignore, as git status --porcelain lines,
// but for Claude Code's own .claude/settings.local.json (its permission answers: not work).
std::vector<std::string> uncommitted_changes(const fs::path& worktree) {
  CommandSpec spec;
  spec.args = {"git", "status", "--porcelain=v1", "--untracked-files=all"};
  spec.cwd = worktree.string();
  spec.timeout = std::chrono::seconds(30);
  const CommandResult result = run_command(spec);
  std::vector<std::string> changes;
  if (result.returncode != 0) return changes;  // not a git worktree: nothing to commit
  std::istringstream lines(result.stdout_text);
  for (std::string line; std::getline(lines, line);)
    if (line.size() > 3 && line.substr(3) != ".claude/settings.local.json") changes.push_back(line);
  return changes;
}

// A session's file in the state directory, named after the session (or "no-session").
fs::path session_file(const fs::path& worktree, const HookPayload& payload, const char* suffix) {
  std::string key = payload.session_id.substr(0, 64);
  for (char& c : key)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
  return state_dir(worktree) / ("hook-" + (key.empty() ? "no-session" : key) + suffix);
}

std::optional<std::string> read_small_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_small_file(const fs::path& file, const std::string& text) {
  const fs::path temp = file.string() + ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) throw Error::io("cannot write " + temp.string());
  }
  fs::rename(temp, file);
}

// Appends `export HARNESS_WORKER_ID=…` to the file Claude Code sources before each Bash
// command of the session, once.
void export_worker_id(const fs::path& env_file, const std::string& id) {
  std::string quoted = "'";
  for (char c : id) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  const std::string line = "export HARNESS_WORKER_ID=" + quoted + "'";
  const std::string existing = read_small_file(env_file).value_or("");
  if (existing.find(line + "\n") != std::string::npos) return;
  std::ofstream out(env_file, std::ios::binary | std::ios::app);
  if (!existing.empty() && existing.back() != '\n') out << "\n";
  out << line << "\n";
  if (!out.flush()) throw Error::io("cannot write " + env_file.string());
}

// Null when the worktree has no state yet. The same engine its daemon uses (SQLite, or the
// shared PostgreSQL plan it recorded).
std::unique_ptr<BatchingStore> open_state(const fs::path& worktree) {
  return open_store({worktree, StoreConfig::Use::kRead}).store;
}

// The id the session's commands carry: the exported one, else the agent process's.
const std::string& shell_worker(const SessionWorkers& workers, bool exported) {
  if (!exported && workers.agent_id) return *workers.agent_id;
  return workers.ids.front();
}

// The card pre-compact kept, marked as such; empty when the note holds none.
std::string saved_card(const std::string& note) {
  try {
    return "harness could not read its state; your assignment at the compaction was:\n" +
           parse_json(note).at("card").get<std::string>();
  } catch (const std::exception&) {
    return "";
  }
}

// After a compaction (the assignment pre-compact kept, consumed here: one card per compaction)
// or on a resume, the held task comes back as its whole assignment card.
int session_start(const HookPayload& payload, const fs::path& worktree, std::ostream& out) {
  const SessionWorkers workers = session_workers(payload, worktree);
  bool exported = false;
  if (const char* env_file = std::getenv("CLAUDE_ENV_FILE");
      env_file != nullptr && *env_file != '\0' && !workers.configured && workers.session_id) {
    export_worker_id(env_file, *workers.session_id);
    exported = true;
  }
  const fs::path kept = session_file(worktree, payload, ".compact");
  std::optional<std::string> kept_text = read_small_file(kept);
  if (kept_text) fs::remove(kept);
  auto store = open_state(worktree);
  if (!store && payload.source == "compact" && kept_text) {
    // No state to read here (the state directory is gone or elsewhere): the card as it was.
    out << session_start_json(saved_card(*kept_text)) << "\n";
    return 0;
  }
  std::optional<Workflow> workflow = store ? store->load() : std::nullopt;
  if (!workflow || workers.ids.empty()) {
    out << "{}\n";
    return 0;
  }
  std::optional<Assignment> before;
  if (payload.source == "compact" && kept_text) {
    try {
      const Json j = parse_json(*kept_text);
      before =
          Assignment{j.at("task_id").get<std::string>(), j.value("description", std::string())};
    } catch (const std::exception&) {
      // A damaged note only loses the reminder.
    }
  }
  std::optional<Micros> card_at;
  if ((payload.source == "compact" && kept_text) || payload.source == "resume")
    card_at = SystemClock::instance().now();
  out << session_start_json(session_context(*workflow, shell_worker(workers, exported), workers.ids,
                                            before, card_at))
      << "\n";
  return 0;
}

int stop(const HookPayload& payload, const fs::path& worktree, std::ostream& out) {
  auto store = open_state(worktree);
  if (!store) return 0;
  const SessionWorkers workers = session_workers(payload, worktree);
  const std::optional<Workflow> workflow = store->load();
  if (!workflow || workers.ids.empty()) return 0;
  const Task* held = held_task(*workflow, workers.ids);
  const fs::path last_file = session_file(worktree, payload, ".stop");
  const StopDecision d = stop_decision(
      workflow, workers.ids, held ? store->completion_mark(*held->claimed_by) : std::nullopt,
      current_head(worktree), payload.stop_hook_active, read_small_file(last_file),
      uncommitted_changes(worktree));
  if (!d.block) return 0;
  write_small_file(last_file, d.fingerprint);
  out << Json{{"decision", "block"}, {"reason", d.reason}}.dump(-1, ' ', false,
                                                                Json::error_handler_t::replace)
      << "\n";
  return 0;
}

// Keeps the assignment (and its card as it reads now) for the session-start after the
// compaction; a session that holds nothing leaves no note.
int pre_compact(const HookPayload& payload, const fs::path& worktree) {
  auto store = open_state(worktree);
  if (!store) return 0;
  const std::optional<Workflow> workflow = store->load();
  const SessionWorkers workers = session_workers(payload, worktree);
  const Task* held = workflow ? held_task(*workflow, workers.ids) : nullptr;
  const fs::path kept = session_file(worktree, payload, ".compact");
  if (held == nullptr) {
    fs::remove(kept);
    return 0;
  }
  write_small_file(kept, Json{{"task_id", held->id},
                              {"description", held->description},
                              {"card", assignment_card(*held, shell_worker(workers, false),
                                                       SystemClock::instance().now())}}
                             .dump(-1, ' ', false, Json::error_handler_t::replace));
  return 0;
}

}  // namespace

int run_hook(const std::string& event, std::istream& in, std::ostream& out, std::ostream& err,
             const std::function<fs::path()>& worktree) {
  if (event != "session-start" && event != "stop" && event != "subagent-stop" &&
      event != "pre-compact") {
    err << "harness hook: unknown event '" << event
        << "' (expected session-start, stop, subagent-stop or pre-compact)\n";
    return 1;
  }
  HookPayload payload;
  try {
    payload = parse_hook_payload(read_payload(in));
  } catch (const Error& e) {
    err << "harness hook " << event << ": ignoring the payload: " << e.what() << "\n";
    return 0;
  }
  try {
    std::error_code ignored;
    if (!payload.cwd.empty() && fs::is_directory(payload.cwd, ignored))
      fs::current_path(payload.cwd);
    const fs::path tree = worktree();
    if (event == "session-start") return session_start(payload, tree, out);
    if (event == "pre-compact") return pre_compact(payload, tree);
    return stop(payload, tree, out);
  } catch (const std::exception& e) {
    err << "harness hook " << event << ": " << e.what() << "\n";
    return 1;
  }
}

}  // namespace harness
