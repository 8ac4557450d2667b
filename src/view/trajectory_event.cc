#include "view/trajectory_event.h"

#include <string>

#include "core/error.h"

namespace harness {
namespace {

std::string string_field(const Json& event, const char* name) {
  const auto it = event.find(name);
  return it != event.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Joins `words` with spaces; the argv of an exec or git event.
std::string command_line(const Json& args) {
  std::string text;
  if (!args.is_array()) return text;
  for (const Json& word : args)
    if (word.is_string()) text += (text.empty() ? "" : " ") + word.get<std::string>();
  return text;
}

// Newlines and tabs would break a one-line feed.
std::string one_line(std::string text) {
  for (char& c : text)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  return text;
}

void append(std::string& out, const std::string& part) {
  if (part.empty()) return;
  out += (out.empty() ? "" : ", ") + part;
}

std::string describe_command(const Json& e) {
  std::string text = "exit " + (e.contains("returncode") ? e["returncode"].dump() : "?");
  if (e.value("timed_out", false)) text += " (timed out)";
  if (e.contains("duration_ms")) text += " in " + e["duration_ms"].dump() + " ms";
  const std::string argv = command_line(e.value("args", Json::array()));
  if (!argv.empty()) text += ": " + argv;
  return text;
}

std::string describe(const std::string& kind, const Json& e) {
  if (kind == "exec" || kind == "git") return describe_command(e);
  std::string text;
  if (e.contains("attempt")) append(text, "attempt " + e["attempt"].dump());
  if (e.value("is_retry", false)) append(text, "renewed");
  if (e.value("is_reclaim", false)) append(text, "reclaim");
  if (e.value("force", false)) append(text, "forced");
  if (e.value("no_verify", false)) append(text, "not verified");
  if (e.contains("passed")) append(text, e["passed"].get<bool>() ? "passed" : "did not pass");
  if (e.contains("tasks")) append(text, e["tasks"].dump() + " tasks");
  if (e.contains("pid")) append(text, "pid " + e["pid"].dump());
  const std::string status = string_field(e, "status");
  const std::string reason = string_field(e, "reason");
  if (!status.empty() && !reason.empty())
    append(text, status + ": " + reason);
  else
    append(text, status.empty() ? reason : status);
  if (e.contains("retry_at")) append(text, "retry at " + string_field(e, "retry_at"));
  return one_line(std::move(text));
}

}  // namespace

std::optional<TrajectoryEvent> parse_trajectory_event(std::string_view line) {
  Json e;
  try {
    e = parse_json(line);
  } catch (const Error&) {
    return std::nullopt;
  }
  if (!e.is_object()) return std::nullopt;
  const std::string kind = string_field(e, "event");
  const std::optional<Micros> ts = parse_iso8601(string_field(e, "ts"));
  if (kind.empty() || !ts) return std::nullopt;
  TrajectoryEvent event;
  event.ts = *ts;
  event.kind = kind;
  event.task_id = string_field(e, "task_id");
  event.worker_id = string_field(e, "worker_id");
  event.detail = describe(kind, e);
  event.line = std::string(line);
  return event;
}

bool starts_a_new_plan(const TrajectoryEvent& event) {
  return event.kind == "plan_import" || event.kind == "update_state" || event.kind == "plan_reset";
}

}  // namespace harness
