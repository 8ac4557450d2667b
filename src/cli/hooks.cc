#include "cli/hooks.h"

#include <algorithm>
#include <cctype>

#include "core/error.h"
#include "core/json.h"

namespace harness {

namespace {

constexpr std::size_t kSessionIdChars = 12;

std::string progress(const StatusCounts& c) {
  return std::to_string(c.completed) + "/" + std::to_string(c.total());
}

std::string hook_output(const std::string& context) {
  // Spelled out to match the hook format agents expect byte for byte.
  return R"({"hookSpecificOutput": {"hookEventName": "SessionStart", "additionalContext": )" +
         Json(context).dump(-1, ' ', false, Json::error_handler_t::replace) + "}}";
}

// Unfinished, but nothing can run: every pending task waits on a failed one.
std::string stuck_summary(const StatusCounts& c) {
  return "Workflow stuck: " + progress(c) + " tasks completed, " + std::to_string(c.failed) +
         " failed, and the " + std::to_string(c.pending) +
         " pending tasks wait on failed ones; nothing can run until a failed task is retried";
}

// ", F failed (`harness task list` shows them and what they block)" when tasks failed: work
// in progress beside failures must not read as all is well.
std::string failures(const StatusCounts& c) {
  if (c.failed == 0) return "";
  return ", " + std::to_string(c.failed) +
         " failed (`harness task list` shows them and what they block; `harness task retry "
         "--id ID` retries one)";
}

std::string finished_summary(const StatusCounts& c) {
  std::string s = "Workflow complete: " + progress(c) + " tasks completed";
  if (c.failed > 0) s += ", " + std::to_string(c.failed) + " failed";
  return s;
}

std::string string_field(const Json& payload, const char* name) {
  auto it = payload.find(name);
  if (it == payload.end() || it->is_null()) return "";
  if (!it->is_string()) throw Error::invalid(std::string("'") + name + "' is not a string");
  return it->get<std::string>();
}

// How to complete `t` from the agent's shell, whose commands work as `shell_worker` (empty:
// not known). When that is not the holder, the plain command would be refused, so the one that
// names the holder is given too.
std::string how_to_finish(const Task& t, const std::string& shell_worker) {
  std::string text =
      "When its work is done and committed, run `harness task complete --id " + t.id + "`";
  if (t.claimed_by && *t.claimed_by != shell_worker)
    text += " as worker " + *t.claimed_by + " (`HARNESS_WORKER_ID=" + *t.claimed_by +
            " harness task complete --id " + t.id + "` unless your shell already carries that id)";
  // A task claimed through the MCP server is completed by its complete tool just as well.
  if (t.claimed_by && t.claimed_by->starts_with("mcp-"))
    text += ", or the complete tool of the harness MCP server";
  return text + ".";
}

}  // namespace

std::string session_start_output(const std::optional<StatusCounts>& counts) {
  if (!counts || counts->total() == 0) return "{}";
  if (!counts->unfinished()) return hook_output(finished_summary(*counts));
  if (!counts->can_progress()) return hook_output(stuck_summary(*counts));
  return hook_output("Resuming workflow: task " + progress(*counts) + failures(*counts));
}

HookDecision check_state(const std::optional<StatusCounts>& counts) {
  if (!counts || !counts->can_progress()) return {};
  return {false, "Workflow in progress (" + progress(*counts) + failures(*counts) + ")"};
}

HookDecision check_commit(const std::optional<Workflow>& workflow,
                          const std::optional<Store::CompletionMark>& mark,
                          const std::optional<std::string>& head, const std::string& worker_id) {
  if (!workflow || !mark || !head || *head != mark->commit) return {};
  const Task* held = held_task(*workflow, {worker_id});
  if (held == nullptr) return {};
  return {false, "No commit since task " + mark->task_id + " was completed (HEAD " +
                     head->substr(0, 12) + "); commit the work on " + held->id + " first"};
}

HookPayload parse_hook_payload(std::string_view text) {
  Json j;
  try {
    j = parse_json(text);
  } catch (const std::exception& e) {
    throw Error::invalid(std::string("the hook payload is not JSON: ") + e.what());
  }
  if (!j.is_object()) throw Error::invalid("the hook payload is not a JSON object");
  HookPayload p;
  p.session_id = string_field(j, "session_id");
  p.transcript_path = string_field(j, "transcript_path");
  p.cwd = string_field(j, "cwd");
  p.hook_event_name = string_field(j, "hook_event_name");
  p.source = string_field(j, "source");
  p.trigger = string_field(j, "trigger");
  if (auto it = j.find("stop_hook_active"); it != j.end() && !it->is_null()) {
    if (!it->is_boolean()) throw Error::invalid("'stop_hook_active' is not a boolean");
    p.stop_hook_active = it->get<bool>();
  }
  return p;
}

std::optional<std::string> session_worker_id(std::string_view session_id) {
  if (session_id.empty()) return std::nullopt;
  std::string id = "claude-";
  for (char c : session_id.substr(0, kSessionIdChars))
    id += std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' ? c : '_';
  return id;
}

const Task* held_task(const Workflow& workflow, const std::vector<std::string>& workers) {
  auto held = std::find_if(workflow.tasks.begin(), workflow.tasks.end(), [&](const Task& t) {
    return t.status == TaskStatus::kRunning && t.claimed_by &&
           std::find(workers.begin(), workers.end(), *t.claimed_by) != workers.end();
  });
  return held == workflow.tasks.end() ? nullptr : &*held;
}

namespace {

bool held_by_another(const Workflow& workflow, const std::vector<std::string>& workers) {
  return std::any_of(workflow.tasks.begin(), workflow.tasks.end(), [&](const Task& t) {
    return t.status == TaskStatus::kRunning && t.claimed_by &&
           std::find(workers.begin(), workers.end(), *t.claimed_by) == workers.end();
  });
}

// "a.txt (modified), b.txt (untracked) and 3 more" from git status --porcelain lines.
std::string change_list(const std::vector<std::string>& uncommitted) {
  constexpr std::size_t kNamed = 5;
  std::string text;
  for (std::size_t i = 0; i < uncommitted.size() && i < kNamed; ++i)
    text += (i ? ", " : "") + uncommitted[i];
  if (uncommitted.size() > kNamed)
    text += " and " + std::to_string(uncommitted.size() - kNamed) + " more";
  return text;
}

std::string commit_commands(const std::string& message) {
  return "`harness git add -A` then `harness git commit -m \"" + message + "\"`";
}

}  // namespace

StopDecision stop_decision(const std::optional<Workflow>& workflow,
                           const std::vector<std::string>& workers,
                           const std::optional<Store::CompletionMark>& mark,
                           const std::optional<std::string>& head, bool stop_hook_active,
                           const std::optional<std::string>& last_block,
                           const std::vector<std::string>& uncommitted) {
  if (!workflow) return {};
  const Task* held = held_task(*workflow, workers);
  if (held == nullptr && (uncommitted.empty() || held_by_another(*workflow, workers))) return {};
  StopDecision d;
  d.fingerprint = held ? held->id + "|" + std::to_string(held->started_at.value_or(0)) : "-";
  d.fingerprint += "|" + head.value_or("");
  for (const std::string& change : uncommitted) d.fingerprint += "|" + change;
  if (stop_hook_active && last_block == d.fingerprint) return {false, "", d.fingerprint};
  d.block = true;
  if (held == nullptr) {
    d.reason = "Your work is not committed: " + change_list(uncommitted) +
               " (git status). Commit it: " + commit_commands("what it does") +
               "; or, if it is not work to keep, remove it (`git stash -u` keeps a copy). "
               "Then you may stop.";
    return d;
  }
  d.reason = "You (harness worker " + *held->claimed_by + ") still hold task " + held->id;
  if (!held->description.empty()) d.reason += " (" + held->description + ")";
  d.reason += ". ";
  if (!uncommitted.empty())
    d.reason += "Uncommitted changes: " + change_list(uncommitted) +
                ". Commit them: " + commit_commands(held->id + ": what it does") + ". ";
  else if (mark && head && *head == mark->commit)
    d.reason += "Its work is not committed: HEAD is still the commit of your last completion (" +
                mark->task_id + "). Commit it first. ";
  // Which of the session's ids its shell carries is known only when there is one.
  d.reason += how_to_finish(*held, workers.size() == 1 ? workers.front() : std::string()) +
              " If you cannot finish it: `harness task fail --id " + held->id +
              " --reason \"why\"`, or `harness task release --id " + held->id +
              "` to hand it back.";
  return d;
}

namespace {

// "F failed (a, b) and B blocked behind them (...)": which work an operator must look at.
std::string failed_and_blocked(const Workflow& workflow) {
  constexpr std::size_t kNamed = 5;
  std::vector<std::string> failed;
  std::size_t blocked = 0;
  const BlockedBy blockers(workflow);
  for (const Task& t : workflow.tasks) {
    if (t.status == TaskStatus::kFailed) failed.push_back(t.id);
    if (!blockers.of(t).empty()) ++blocked;
  }
  std::string text = std::to_string(failed.size()) + " failed (";
  for (std::size_t i = 0; i < failed.size() && i < kNamed; ++i) text += (i ? ", " : "") + failed[i];
  if (failed.size() > kNamed) text += ", ...";
  text += ")";
  if (blocked > 0) text += " and " + std::to_string(blocked) + " blocked behind them";
  return text + " (`harness task retry --id ID` makes a failed task claimable again)";
}

}  // namespace

std::string assignment_card(const Task& held, const std::string& shell_worker, Micros now) {
  const std::string as = held.claimed_by && *held.claimed_by != shell_worker
                             ? "HARNESS_WORKER_ID=" + *held.claimed_by + " "
                             : "";
  const std::string task = " --id " + held.id;
  std::string card = "== harness assignment card ==\nTask: " + held.id + "\n";
  if (held.claimed_by) card += "Worker: " + *held.claimed_by + "\n";
  card += "Description: " + held.description + "\n";
  if (held.instructions) card += "Instructions: " + *held.instructions + "\n";
  const TaskPacket& packet = *held.packet;
  if (packet.success_criteria) card += "Success criteria: " + *packet.success_criteria + "\n";
  if (packet.files_in_scope && !packet.files_in_scope->empty()) {
    card += "Files in scope:";
    for (const std::string& f : *packet.files_in_scope) card += " " + f;
    card += "\n";
  }
  const Micros expires = held.lease_expires_at.value_or(held.started_at.value_or(now) +
                                                        held.timeout_seconds * 1'000'000);
  card += "Lease: " + std::to_string(std::max<Micros>(0, (expires - now) / 1'000'000)) +
          " s left; renew it on long work with `" + as + "harness task heartbeat" + task +
          "` (MCP: heartbeat).\n";
  card += "Done (work committed through `harness git commit`): `" + as + "harness task complete" +
          task + "` (MCP: complete).\n";
  card += "Cannot finish: `" + as + "harness task fail" + task +
          " --reason \"why\"` (MCP: fail), or hand it back: `" + as + "harness task release" +
          task + "` (MCP: release).\n";
  return card + "== end of card ==";
}

std::string session_context(const Workflow& workflow, const std::string& worker,
                            const std::vector<std::string>& workers,
                            const std::optional<Assignment>& before_compaction,
                            std::optional<Micros> card_at) {
  const StatusCounts counts = count_statuses(workflow);
  if (counts.total() == 0) return "";
  std::string text = "harness: you are worker " + worker + ". ";
  if (!counts.unfinished()) return text + finished_summary(counts) + "; nothing is left to claim.";
  if (!counts.can_progress()) return text + stuck_summary(counts) + ".";
  text += "Plan progress: " + progress(counts) + " tasks completed, " +
          std::to_string(counts.running) + " running, " + std::to_string(counts.pending) +
          " pending";
  if (counts.failed > 0) text += ", " + failed_and_blocked(workflow);
  text += ".\n";
  const Task* held = held_task(workflow, workers);
  if (before_compaction && (held == nullptr || held->id != before_compaction->task_id))
    text += "Before the compaction you held task " + before_compaction->task_id +
            "; it is no longer yours.\n";
  if (held == nullptr)
    return text + "You hold no task: `harness task claim` gives you the next one.";
  if (card_at) return text + assignment_card(*held, worker, *card_at);
  text += "You hold task " + held->id;
  if (*held->claimed_by != worker) text += " (as worker " + *held->claimed_by + ")";
  text += ": " + held->description + "\n";
  if (held->instructions) text += "Instructions: " + *held->instructions + "\n";
  return text + how_to_finish(*held, worker);
}

std::string session_start_json(const std::string& context) {
  return context.empty() ? "{}" : hook_output(context);
}

}  // namespace harness
