#include "core/task.h"

#include <glib.h>

#include <algorithm>
#include <cmath>
#include <limits>

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
    fail(field, "must be a whole number");
  }

  // A whole number in [min, max], or `fallback` when absent.
  std::int64_t bounded(const char* field, std::int64_t fallback, std::int64_t min,
                       std::int64_t max) const {
    const std::int64_t n = whole_number(field).value_or(fallback);
    if (n < min || n > max)
      fail(field, "must be between " + std::to_string(min) + " and " + std::to_string(max));
    return n;
  }

  // A list whose items are argv lists or strings split like shell words.
  std::optional<std::vector<std::vector<std::string>>> commands(const char* field) const {
    const Json* v = find(field);
    if (!v) return std::nullopt;
    if (!v->is_array()) fail(field, "must be a list of commands");
    std::vector<std::vector<std::string>> out;
    for (const Json& item : *v) out.push_back(command(field, item));
    return out;
  }

  std::vector<std::string> command(const char* field, const Json& item) const {
    std::vector<std::string> argv;
    if (item.is_string()) {
      try {
        argv = split_shell_words(item.get<std::string>());
      } catch (const Error& e) {
        fail(field, std::string("has a command that cannot be split: ") + e.what());
      }
    } else if (item.is_array()) {
      for (const Json& word : item) {
        if (!word.is_string()) fail(field, "must hold strings or lists of strings");
        argv.push_back(word.get<std::string>());
      }
    } else {
      fail(field, "must hold strings or lists of strings");
    }
    if (argv.empty()) fail(field, "has an empty command");
    return argv;
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

namespace {

template <typename Fields>
void emit_packet(const TaskPacket& p, Fields& out) {
  for (const auto& [name, value] : {std::pair{"model", &p.model},
                                    {"input_context", &p.input_context},
                                    {"output_contract", &p.output_contract},
                                    {"constraints", &p.constraints},
                                    {"success_criteria", &p.success_criteria}})
    if (*value) out.text(name, **value);
  for (const auto& [name, value] : {std::pair{"files_in_scope", &p.files_in_scope},
                                    {"files_out_of_scope", &p.files_out_of_scope},
                                    {"tools", &p.tools},
                                    {"artifacts_to_read", &p.artifacts_to_read},
                                    {"artifacts_to_write", &p.artifacts_to_write}})
    if (*value) out.strings(name, **value);
  if (p.verification_commands) out.commands("verification_commands", *p.verification_commands);
}

// The task's fields in their order on the wire, given to `out` (JsonFields or TextFields) one
// by one: the one description of the order that task_to_json and append_task_json share.
template <typename Fields>
void emit_task(const Task& task, Fields& out) {
  out.text("id", task.id);
  out.text("description", task.description);
  out.text("status", to_string(task.status));
  out.strings("dependencies", task.dependencies);
  out.time("started_at", task.started_at);
  out.time("completed_at", task.completed_at);
  out.nullable_text("claimed_by", task.claimed_by);
  out.integer("timeout_seconds", task.timeout_seconds);
  if (task.instructions) out.text("instructions", *task.instructions);
  if (task.command) out.strings("command", *task.command);
  if (task.priority != 0) out.integer("priority", task.priority);
  if (task.role) out.text("role", *task.role);
  if (task.max_attempts != kDefaultMaxAttempts) out.integer("max_attempts", task.max_attempts);
  if (task.retry_backoff_seconds != kDefaultRetryBackoffSeconds)
    out.integer("retry_backoff_seconds", task.retry_backoff_seconds);
  if (task.attempts != 0) out.integer("attempts", task.attempts);
  if (task.last_error) out.text("last_error", *task.last_error);
  if (task.lease_expires_at) out.time("lease_expires_at", task.lease_expires_at);
  if (task.retry_at) out.time("retry_at", task.retry_at);
  if (task.worktree) out.text("worktree", *task.worktree);
  emit_packet(*task.packet, out);
}

class JsonFields {
 public:
  void text(const char* name, std::string_view value) { json_[name] = value; }
  void nullable_text(const char* name, const std::optional<std::string>& value) {
    json_[name] = value ? Json(*value) : Json(nullptr);
  }
  void time(const char* name, const std::optional<Micros>& t) {
    json_[name] = t ? Json(format_iso8601(*t)) : Json(nullptr);
  }
  void integer(const char* name, std::int64_t value) { json_[name] = value; }
  void strings(const char* name, const std::vector<std::string>& list) { json_[name] = list; }
  void commands(const char* name, const std::vector<std::vector<std::string>>& list) {
    json_[name] = list;
  }
  Json take() { return std::move(json_); }

 private:
  Json json_ = Json::object();
};

// Writes the text JSON's dump() would, without building the value: a claim reply carries a
// whole task.
class TextFields {
 public:
  explicit TextFields(std::string& out) : out_(out) { out_ += '{'; }
  ~TextFields() { out_ += '}'; }
  void text(const char* name, std::string_view value) {
    key(name);
    append_json_string(out_, value);
  }
  void nullable_text(const char* name, const std::optional<std::string>& value) {
    if (value) return text(name, *value);
    key(name);
    out_ += "null";
  }
  void time(const char* name, const std::optional<Micros>& t) {
    if (t) return text(name, format_iso8601(*t));
    key(name);
    out_ += "null";
  }
  void integer(const char* name, std::int64_t value) {
    key(name);
    out_ += std::to_string(value);
  }
  void strings(const char* name, const std::vector<std::string>& list) {
    key(name);
    list_of(list);
  }
  void commands(const char* name, const std::vector<std::vector<std::string>>& list) {
    key(name);
    out_ += '[';
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (i) out_ += ',';
      list_of(list[i]);
    }
    out_ += ']';
  }

 private:
  void key(const char* name) {
    if (!first_) out_ += ',';
    first_ = false;
    out_ += '"';
    out_ += name;
    out_ += "\":";
  }
  void list_of(const std::vector<std::string>& list) {
    out_ += '[';
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (i) out_ += ',';
      append_json_string(out_, list[i]);
    }
    out_ += ']';
  }

  std::string& out_;
  bool first_ = true;
};

}  // namespace

Json task_to_json(const Task& task) {
  JsonFields fields;
  emit_task(task, fields);
  return fields.take();
}

void append_task_json(std::string& out, const Task& task) {
  TextFields fields(out);
  emit_task(task, fields);
}

std::int64_t retry_backoff_after(const Task& task, std::int64_t attempts) {
  std::int64_t wait = task.retry_backoff_seconds;
  for (std::int64_t n = 1; n < attempts && wait < kMaxRetryBackoffSeconds; ++n) wait *= 2;
  return std::min(wait, kMaxRetryBackoffSeconds);
}

std::vector<std::string> split_shell_words(const std::string& command) {
  // GLib's parser: the shell's quoting rules, none of its expansions.
  gchar** argv = nullptr;
  GError* error = nullptr;
  if (!g_shell_parse_argv(command.c_str(), nullptr, &argv, &error)) {
    std::string problem = error ? error->message : "cannot be split";
    if (error) g_error_free(error);
    throw Error::invalid("'" + command + "': " + problem);
  }
  std::vector<std::string> words;
  for (gchar** word = argv; *word; ++word) words.emplace_back(*word);
  g_strfreev(argv);
  return words;
}

Json workflow_to_json(const Workflow& workflow) {
  Json tasks = Json::object();
  for (const Task& task : workflow.tasks) append_member(tasks, task.id, task_to_json(task));
  Json j{{"tasks", std::move(tasks)}};
  if (workflow.goal) j["goal"] = *workflow.goal;
  return j;
}

namespace {

void read_schedule(const TaskReader& r, Task& task) {
  constexpr std::int64_t kLimit = std::numeric_limits<std::int32_t>::max();
  task.priority = r.bounded("priority", 0, -kLimit, kLimit);
  task.role = r.string("role");
  task.max_attempts = r.bounded("max_attempts", kDefaultMaxAttempts, 1, kLimit);
  task.retry_backoff_seconds =
      r.bounded("retry_backoff_seconds", kDefaultRetryBackoffSeconds, 0, kMaxRetryBackoffSeconds);
  task.attempts = r.bounded("attempts", 0, 0, kLimit);
  task.last_error = r.string("last_error");
  task.lease_expires_at = r.time("lease_expires_at");
  task.retry_at = r.time("retry_at");
  task.worktree = r.string("worktree");
}

void read_packet(const TaskReader& r, TaskPacket& p) {
  p.model = r.string("model");
  p.input_context = r.string("input_context");
  p.output_contract = r.string("output_contract");
  p.constraints = r.string("constraints");
  p.success_criteria = r.string("success_criteria");
  p.files_in_scope = r.strings("files_in_scope");
  p.files_out_of_scope = r.strings("files_out_of_scope");
  p.tools = r.strings("tools");
  p.artifacts_to_read = r.strings("artifacts_to_read");
  p.artifacts_to_write = r.strings("artifacts_to_write");
  p.verification_commands = r.commands("verification_commands");
}

}  // namespace

Json packet_to_json(const TaskPacket& packet) {
  JsonFields fields;
  emit_packet(packet, fields);
  return fields.take();
}

TaskPacket packet_from_json(const Json& value, std::string_view task_id) {
  if (!value.is_object()) throw Error::invalid("task '" + std::string(task_id) + "': bad packet");
  TaskPacket packet;
  read_packet(TaskReader(value, std::string(task_id)), packet);
  return packet;
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
  read_schedule(r, task);
  read_packet(r, *task.packet);
  return task;
}

Workflow workflow_from_json(const Json& value) {
  const Json* tasks = &value;
  Workflow workflow;
  if (value.is_object() && value.contains("tasks")) {
    tasks = &value["tasks"];
    if (auto goal = value.find("goal"); goal != value.end() && !goal->is_null()) {
      if (!goal->is_string()) throw Error::invalid("'goal' must be a string");
      workflow.goal = goal->get<std::string>();
    }
  }
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
