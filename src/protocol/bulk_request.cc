#include "protocol/bulk_request.h"

#include <array>
#include <vector>

#include "core/error.h"
#include "core/json.h"
#include "protocol/request_codec.h"

namespace harness {

namespace {

constexpr std::array<std::string_view, 2> kBulkCommands{command_name_of<UpdateStateRequest>,
                                                        command_name_of<PlanImportRequest>};

// Reads the JSON tokens of a line's beginning, skipping whitespace between them.
class TokenReader {
 public:
  explicit TokenReader(std::string_view text) : text_(text) {}

  bool literal(std::string_view token) {
    skip_whitespace();
    if (text_.substr(0, token.size()) != token) return false;
    text_.remove_prefix(token.size());
    return true;
  }

 private:
  void skip_whitespace() {
    while (!text_.empty() && (text_.front() == ' ' || text_.front() == '\t' ||
                              text_.front() == '\r' || text_.front() == '\n'))
      text_.remove_prefix(1);
  }
  std::string_view text_;
};

// Takes the tasks of the plan a bulk request carries, reading each into a Task as it comes.
class PlanTasks : public JsonMemberSink {
 public:
  explicit PlanTasks(std::string_view command)
      : update_state_(command == command_name_of<UpdateStateRequest>) {}

  bool takes(const std::vector<std::string>& path, bool is_array) override {
    if (update_state_) return path == std::vector<std::string>{"updates", "tasks"};
    // plan_import: {"tasks": [task, ...]} or {"tasks": {"tasks": ..., "goal": ...}}. A map of
    // tasks directly under "tasks" is read as a whole: it could be either of those.
    return (path == std::vector<std::string>{"tasks"} && is_array) ||
           path == std::vector<std::string>{"tasks", "tasks"};
  }

  void take(const std::vector<std::string>&, std::string key, Json value) override {
    took_ = true;
    tasks_.push_back(task_from_json(value, key));
  }

  // The tasks taken, in plan order, or nullopt when the line held no container of tasks to
  // take (the request's own parser then read the tasks, or says why there are none).
  std::optional<std::vector<Task>> tasks() {
    if (!took_) return std::nullopt;
    return std::move(tasks_);
  }

  // Makes room for the tasks a line of `line_bytes` holds, as a plan is usually written, so that
  // they are not moved (and held twice) as they come. Only what they fill becomes resident.
  void expect(std::size_t line_bytes) { tasks_.reserve(line_bytes / kTypicalTaskBytes); }

 private:
  // Somewhat below what a task takes as the CLI and the Python client encode it.
  static constexpr std::size_t kTypicalTaskBytes = 64;

  const bool update_state_;
  bool took_ = false;
  std::vector<Task> tasks_;
};

}  // namespace

std::optional<std::string_view> bulk_command_of(std::string_view line_start) {
  for (std::string_view command : kBulkCommands) {
    TokenReader reader(line_start);
    if (reader.literal("{") && reader.literal("\"command\"") && reader.literal(":") &&
        reader.literal("\"" + std::string(command) + "\""))
      return command;
  }
  return std::nullopt;
}

Request parse_bulk_request(std::string_view line) {
  const std::optional<std::string_view> command = bulk_command_of(line);
  if (!command) throw Error::invalid("not an update_state or plan_import request");
  PlanTasks plan(*command);
  plan.expect(line.size());
  Request request = request_from_json(parse_json(line, plan));
  std::optional<std::vector<Task>> tasks = plan.tasks();
  if (!tasks) return request;
  if (auto* update = std::get_if<UpdateStateRequest>(&request))
    update->workflow.tasks = std::move(*tasks);
  else if (auto* import = std::get_if<PlanImportRequest>(&request); import && import->workflow)
    import->workflow->tasks = std::move(*tasks);
  return request;
}

}  // namespace harness
