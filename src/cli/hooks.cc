#include "cli/hooks.h"

#include <algorithm>

#include "core/json.h"

namespace harness {

namespace {

std::string progress(const StatusCounts& c) {
  return std::to_string(c.completed) + "/" + std::to_string(c.total());
}

}  // namespace

std::string session_start_output(const std::optional<StatusCounts>& counts) {
  if (!counts) return "{}";
  // Spelled out to match the hook format agents expect byte for byte.
  return R"({"hookSpecificOutput": {"hookEventName": "SessionStart", "additionalContext": )" +
         Json("Resuming workflow: task " + progress(*counts)).dump() + "}}";
}

HookDecision check_state(const std::optional<StatusCounts>& counts) {
  if (!counts || !counts->unfinished()) return {};
  return {false, "Workflow in progress (" + progress(*counts) + ")"};
}

HookDecision check_commit(const std::optional<Workflow>& workflow,
                          const std::optional<Store::CompletionMark>& mark,
                          const std::optional<std::string>& head, const std::string& worker_id) {
  if (!workflow || !mark || !head || *head != mark->commit) return {};
  auto held = std::find_if(workflow->tasks.begin(), workflow->tasks.end(), [&](const Task& t) {
    return t.status == TaskStatus::kRunning && t.claimed_by == worker_id;
  });
  if (held == workflow->tasks.end()) return {};
  return {false, "No commit since task " + mark->task_id + " was completed (HEAD " +
                     head->substr(0, 12) + "); commit the work on " + held->id + " first"};
}

}  // namespace harness
