#include "core/task.h"

#include <cmath>

#include "core/error.h"

namespace harness {

std::string_view to_string(TaskStatus status) {
  switch (status) {
    case TaskStatus::kPending:
      return "pending";
    case TaskStatus::kRunning:
      return "running";
    case TaskStatus::kCompleted:
      return "completed";
    case TaskStatus::kFailed:
      return "failed";
  }
  return "pending";
}

TaskStatus parse_task_status(std::string_view text) {
  if (text == "pending") return TaskStatus::kPending;
  if (text == "running") return TaskStatus::kRunning;
  if (text == "completed") return TaskStatus::kCompleted;
  if (text == "failed") return TaskStatus::kFailed;
  throw Error::invalid("unknown task status '" + std::string(text) +
                       "' (expected pending, running, completed or failed)");
}

namespace {

Json optional_time(const std::optional<Micros>& t) {
  return t ? Json(format_iso8601(*t)) : Json(nullptr);
}

class TaskReader {
 public:
  TaskReader(const Json& object, std::string id) : object_(object), id_(std::move(id)) {}

  [[noreturn]] void fail(const std::string& field, const std::string& problem) const {
    throw Error::invalid("task '" + id_ + "': '" + field + "' " + problem);
  }

  // The field's value, or nullptr when it is absent or null.
  const Json* find(const char* field) const {
    auto it = object_.find(field);
    return it == object_.end() || it->is_null() ? nullptr : &*it;
  }

  std::optional<std::string> string(const char* field) const {
    const Json* v = find(field);
    if (!v) return std::nullopt;
    if (!v->is_string()) fail(field, "must be a string");
    return v->get<std::string>();
  }

  std::optional<std::vector<std::string>> strings(const char* field) const {
    const Json* v = find(field);
    if (!v) return std::nullopt;
    if (!v->is_array()) fail(field, "must be a list of strings");
    std::vector<std::string> out;
    out.reserve(v->size());
    for (const Json& item : *v) {
      if (!item.is_string()) fail(field, "must be a list of strings");
      out.push_back(item.get<std::string>());
    }
    return out;
  }

  std::optional<Micros> time(const char* field) const {
    auto text = string(field);
    if (!text) return std::nullopt;
    auto t = parse_iso8601(*text);
    if (!t) fail(field, "is not an ISO-8601 date-time: '" + *text + "'");
    return t;
  }

  std::optional<std::int64_t> whole_number(const char* field) const {
    const Json* v = find(field);
    if (!v) return std::nullopt;
    if (v->is_number_integer()) return v->get<std::int64_t>();
    if (v->is_number_float()) {
      double d = v->get<double>();
      // Range check first: converting a double outside int64's range is undefined behaviour.
      if (d >= -0x1p63 && d < 0x1p63 && d == std::trunc(d)) return static_cast<std::int64_t>(d);
    }
    fail(field, "must be a whole number of seconds");
  }

 private:
  const Json& object_;
  std::string id_;
};

std::string task_id_of(const Json& value, std::string_view key) {
  auto it = value.find("id");
  const bool has_id = it != value.end() && !it->is_null();
  if (has_id && !it->is_string())
    throw Error::invalid("task " + value.dump().substr(0, 80) + ": 'id' must be a string");
  std::string id = has_id ? it->get<std::string>() : std::string(key);
  if (has_id && !key.empty() && id != key)
    throw Error::invalid("task '" + std::string(key) + "': 'id' is '" + id +
                         "' but it is listed under '" + std::string(key) + "'");
  if (id.empty()) throw Error::invalid(has_id ? "a task's 'id' is empty" : "a task has no 'id'");
  return id;
}

}  // namespace

Json task_to_json(const Task& task) {
  Json j = {{"id", task.id},
            {"description", task.description},
            {"status", to_string(task.status)},
            {"dependencies", task.dependencies},
            {"started_at", optional_time(task.started_at)},
            {"completed_at", optional_time(task.completed_at)},
            {"claimed_by", task.claimed_by ? Json(*task.claimed_by) : Json(nullptr)},
            {"timeout_seconds", task.timeout_seconds}};
  if (task.instructions) j["instructions"] = *task.instructions;
  if (task.command) j["command"] = *task.command;
  return j;
}

namespace {

void append_string_list(std::string& out, const std::vector<std::string>& list) {
  out += '[';
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (i) out += ',';
    append_json_string(out, list[i]);
  }
  out += ']';
}

void append_optional_time(std::string& out, const std::optional<Micros>& t) {
  if (!t) {
    out += "null";
    return;
  }
  out += '"';
  out += format_iso8601(*t);
  out += '"';
}

}  // namespace

void append_task_json(std::string& out, const Task& task) {
  out += R"({"id":)";
  append_json_string(out, task.id);
  out += R"(,"description":)";
  append_json_string(out, task.description);
  out += R"(,"status":")";
  out += to_string(task.status);
  out += R"(","dependencies":)";
  append_string_list(out, task.dependencies);
  out += R"(,"started_at":)";
  append_optional_time(out, task.started_at);
  out += R"(,"completed_at":)";
  append_optional_time(out, task.completed_at);
  out += R"(,"claimed_by":)";
  if (task.claimed_by)
    append_json_string(out, *task.claimed_by);
  else
    out += "null";
  out += R"(,"timeout_seconds":)";
  out += std::to_string(task.timeout_seconds);
  if (task.instructions) {
    out += R"(,"instructions":)";
    append_json_string(out, *task.instructions);
  }
  if (task.command) {
    out += R"(,"command":)";
    append_string_list(out, *task.command);
  }
  out += '}';
}

Json workflow_to_json(const Workflow& workflow) {
  Json tasks = Json::object();
  for (const Task& task : workflow.tasks) append_member(tasks, task.id, task_to_json(task));
  return Json{{"tasks", std::move(tasks)}};
}

Task task_from_json(const Json& value, std::string_view key) {
  if (!value.is_object())
    throw Error::invalid("task '" + std::string(key) + "' must be a JSON object");
  Task task;
  task.id = task_id_of(value, key);
  TaskReader r(value, task.id);
  task.description = r.string("description").value_or("");
  if (auto status = r.string("status")) {
    try {
      task.status = parse_task_status(*status);
    } catch (const Error& e) {
      r.fail("status", std::string("is invalid: ") + e.what());
    }
  }
  task.dependencies = r.strings("dependencies").value_or(std::vector<std::string>{});
  task.started_at = r.time("started_at");
  task.completed_at = r.time("completed_at");
  task.claimed_by = r.string("claimed_by");
  task.timeout_seconds = r.whole_number("timeout_seconds").value_or(kDefaultTimeoutSeconds);
  if (task.timeout_seconds <= 0 || task.timeout_seconds > kMaxTimeoutSeconds)
    r.fail("timeout_seconds", "must be positive and at most " + std::to_string(kMaxTimeoutSeconds));
  task.instructions = r.string("instructions");
  task.command = r.strings("command");
  if (task.command && task.command->empty()) r.fail("command", "must not be empty");
  return task;
}

Workflow workflow_from_json(const Json& value) {
  const Json* tasks = &value;
  if (value.is_object() && value.contains("tasks")) tasks = &value["tasks"];
  Workflow workflow;
  if (tasks->is_object()) {
    workflow.tasks.reserve(tasks->size());
    for (const auto& [key, task] : tasks->items())
      workflow.tasks.push_back(task_from_json(task, key));
  } else if (tasks->is_array()) {
    workflow.tasks.reserve(tasks->size());
    for (const Json& task : *tasks) workflow.tasks.push_back(task_from_json(task));
  } else {
    throw Error::invalid("'tasks' must be a map of id to task or a list of tasks");
  }
  return workflow;
}

}  // namespace harness
