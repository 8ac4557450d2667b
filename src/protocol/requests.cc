#include "protocol/requests.h"

#include <cmath>

#include "core/error.h"

namespace harness {

namespace {

class Fields {
 public:
  explicit Fields(const Json& object) : object_(object) {}

  const Json* find(const char* name) const {
    auto it = object_.find(name);
    return it == object_.end() || it->is_null() ? nullptr : &*it;
  }

  const Json& require(const char* name) const {
    const Json* v = find(name);
    if (!v) throw Error::invalid(std::string("missing field '") + name + "'");
    return *v;
  }

  [[noreturn]] static void wrong_type(const char* name, const char* expected) {
    throw Error::invalid(std::string("field '") + name + "' must be " + expected);
  }

  std::string string(const char* name) const {
    const Json& v = require(name);
    if (!v.is_string() || v.get_ref<const std::string&>().empty())
      wrong_type(name, "a non-empty string");
    return v.get<std::string>();
  }

  std::optional<std::string> optional_string(const char* name) const {
    return find(name) ? std::optional<std::string>(string(name)) : std::nullopt;
  }

  // A string the operating system gets (a path, an argument, an environment entry) ends at
  // its first NUL byte: one inside would silently become a different request.
  static void refuse_nul(const char* name, const std::string& value) {
    if (value.find('\0') != std::string::npos)
      throw Error::invalid(std::string("field '") + name + "' must not contain a NUL byte");
  }

  std::optional<std::string> optional_os_string(const char* name) const {
    std::optional<std::string> value = optional_string(name);
    if (value) refuse_nul(name, *value);
    return value;
  }

  bool flag(const char* name) const {
    const Json* v = find(name);
    if (!v) return false;
    if (!v->is_boolean()) wrong_type(name, "true or false");
    return v->get<bool>();
  }

  std::vector<std::string> args(const char* name) const {
    const Json& v = require(name);
    if (!v.is_array() || v.empty()) wrong_type(name, "a non-empty list of strings");
    std::vector<std::string> out;
    for (const Json& item : v) {
      if (!item.is_string()) wrong_type(name, "a non-empty list of strings");
      out.push_back(item.get<std::string>());
      refuse_nul(name, out.back());
    }
    return out;
  }

  std::map<std::string, std::string> env(const char* name) const {
    std::map<std::string, std::string> out;
    const Json* v = find(name);
    if (!v) return out;
    if (!v->is_object()) wrong_type(name, "an object of strings");
    for (const auto& [key, value] : v->items()) {
      if (!value.is_string() || key.empty() || key.find('=') != std::string::npos)
        wrong_type(name, "an object mapping variable names (no '=') to strings");
      refuse_nul(name, key);
      refuse_nul(name, value.get_ref<const std::string&>());
      out.emplace(key, value.get<std::string>());
    }
    return out;
  }

  std::optional<std::chrono::milliseconds> seconds(const char* name) const {
    const Json* v = find(name);
    if (!v) return std::nullopt;
    if (!v->is_number()) wrong_type(name, "a number of seconds");
    const double s = v->get<double>();
    if (!(s > 0) || !std::isfinite(s) || s > kMaxCommandTimeoutSeconds)
      wrong_type(name, "a positive number of seconds");
    return command_timeout(s);
  }

 private:
  const Json& object_;
};

Workflow workflow_field(const Json& request, const char* field) {
  const Json& container = Fields(request).require(field);
  if (!container.is_object() && !container.is_array())
    Fields::wrong_type(field, "an object holding 'tasks', or a map or list of tasks");
  return workflow_from_json(container);
}

}  // namespace

std::chrono::milliseconds command_timeout(double seconds) {
  const double ms = seconds * 1000;
  const double nearest = std::round(ms);
  // A whole number of milliseconds written as seconds (2.007) need not multiply back to a whole
  // number: it must read back as itself, not one more. Anything above 0 is at least 1 ms.
  const double whole = nearest >= 1 && std::abs(ms - nearest) < 1e-6 ? nearest : std::ceil(ms);
  return std::chrono::milliseconds(static_cast<std::int64_t>(whole));
}

UpdateStateRequest UpdateStateRequest::from_json(const Json& request) {
  const Json& updates = Fields(request).require("updates");
  if (!updates.is_object() || !updates.contains("tasks"))
    Fields::wrong_type("updates", "an object with a 'tasks' map");
  return UpdateStateRequest{workflow_field(request, "updates")};
}

Json UpdateStateRequest::to_json() const { return Json{{"updates", workflow_to_json(workflow)}}; }

PlanImportRequest PlanImportRequest::from_json(const Json& request) {
  Fields f(request);
  PlanImportRequest r;
  r.force = f.flag("force");
  r.file = f.optional_os_string("file");
  if (f.find("tasks")) r.workflow = workflow_field(request, "tasks");
  if (r.file.has_value() == r.workflow.has_value())
    throw Error::invalid("give exactly one of 'tasks' and 'file'");
  if (r.file && r.file->front() != '/') Fields::wrong_type("file", "an absolute path");
  r.format = f.optional_string("format");
  r.parallel = f.flag("parallel");
  r.tag = f.optional_string("tag");
  if (!r.file && (r.format || r.parallel || r.tag))
    throw Error::invalid("'format', 'parallel' and 'tag' go with 'file' only");
  return r;
}

Json PlanImportRequest::to_json() const {
  Json request = Json::object();
  if (file) request["file"] = *file;
  if (workflow) request["tasks"] = workflow_to_json(*workflow);
  request["force"] = force;
  if (format) request["format"] = *format;
  if (parallel) request["parallel"] = true;
  if (tag) request["tag"] = *tag;
  return request;
}

ClaimRequest ClaimRequest::from_json(const Json& request) {
  Fields f(request);
  ClaimRequest r{f.string("worker_id")};
  if (const Json* wait = f.find("wait")) {
    if (!wait->is_number() || !(wait->get<double>() >= 0) ||
        !(wait->get<double>() <= kMaxClaimWaitSeconds))
      Fields::wrong_type("wait", "a number of seconds from 0 to 86400");
    if (wait->get<double>() > 0) r.wait = command_timeout(wait->get<double>());
  }
  r.role = f.optional_string("role");
  r.worktree = f.optional_os_string("worktree");
  return r;
}

Json ClaimRequest::to_json() const {
  Json request{{"worker_id", worker_id}};
  if (wait) request["wait"] = static_cast<double>(wait->count()) / 1000;
  if (role) request["role"] = *role;
  if (worktree) request["worktree"] = *worktree;
  return request;
}

namespace {

HolderFields holder_fields(const Fields& f) {
  return HolderFields{f.string("task_id"), f.string("worker_id"), f.optional_string("lease")};
}

Json holder_json(const HolderFields& h) {
  Json request{{"task_id", h.task_id}, {"worker_id", h.worker_id}};
  if (h.lease) request["lease"] = *h.lease;
  return request;
}

std::string task_id_field(const Json& request) { return Fields(request).string("task_id"); }

}  // namespace

CompleteRequest CompleteRequest::from_json(const Json& request) {
  Fields f(request);
  CompleteRequest r{holder_fields(f)};
  r.commit = f.optional_string("commit");
  r.force = f.flag("force");
  r.next = f.flag("next");
  r.verify = !f.find("verify") || f.flag("verify");
  r.cwd = f.optional_os_string("cwd");
  r.role = f.optional_string("role");
  r.worktree = f.optional_os_string("worktree");
  return r;
}

Json CompleteRequest::to_json() const {
  Json request = holder_json(*this);
  if (commit) request["commit"] = *commit;
  if (force) request["force"] = true;
  if (next) request["next"] = true;
  if (!verify) request["verify"] = false;
  if (cwd) request["cwd"] = *cwd;
  if (role) request["role"] = *role;
  if (worktree) request["worktree"] = *worktree;
  return request;
}

HeartbeatRequest HeartbeatRequest::from_json(const Json& request) {
  return {holder_fields(Fields(request))};
}

Json HeartbeatRequest::to_json() const { return holder_json(*this); }

ReleaseRequest ReleaseRequest::from_json(const Json& request) {
  Fields f(request);
  return {holder_fields(f), f.optional_string("reason")};
}

Json ReleaseRequest::to_json() const {
  Json request = holder_json(*this);
  if (reason) request["reason"] = *reason;
  return request;
}

FailRequest FailRequest::from_json(const Json& request) {
  Fields f(request);
  return {holder_fields(f), f.string("reason")};
}

Json FailRequest::to_json() const {
  Json request = holder_json(*this);
  request["reason"] = reason;
  return request;
}

RetryRequest RetryRequest::from_json(const Json& request) { return {{task_id_field(request)}}; }

ShowRequest ShowRequest::from_json(const Json& request) { return {{task_id_field(request)}}; }

ListRequest ListRequest::from_json(const Json& request) {
  ListRequest r;
  if (const std::optional<std::string> status = Fields(request).optional_string("status")) {
    try {
      r.status = parse_task_status(*status);
    } catch (const Error& e) {
      throw Error::invalid(std::string("field 'status': ") + e.what());
    }
  }
  return r;
}

Json ListRequest::to_json() const {
  Json request = Json::object();
  if (status) request["status"] = to_string(*status);
  return request;
}

AddRequest AddRequest::from_json(const Json& request) {
  const Json& task = Fields(request).require("task");
  if (!task.is_object()) Fields::wrong_type("task", "a task object");
  return AddRequest{task_from_json(task)};
}

Json AddRequest::to_json() const { return Json{{"task", task_to_json(task)}}; }

CommandRequest CommandRequest::from_json(const Json& request) {
  Fields f(request);
  CommandRequest r;
  r.args = f.args("args");
  r.cwd = f.optional_os_string("cwd");
  r.env = f.env("env");
  r.env_complete = f.flag("env_complete");
  r.timeout = f.seconds("timeout");
  r.exclusive = f.flag("exclusive");
  r.worker_id = f.optional_string("worker_id");
  if (const std::optional<std::string> encoding = f.optional_string("output_encoding")) {
    if (*encoding != "text" && *encoding != "base64")
      Fields::wrong_type("output_encoding", "\"text\" or \"base64\"");
    r.base64_output = *encoding == "base64";
  }
  return r;
}

Json CommandRequest::to_json() const {
  Json request{{"args", args}};
  if (cwd) request["cwd"] = *cwd;
  request["env"] = env;
  if (env_complete) request["env_complete"] = true;
  if (timeout) request["timeout"] = static_cast<double>(timeout->count()) / 1000;
  if (exclusive) request["exclusive"] = true;
  if (base64_output) request["output_encoding"] = "base64";
  if (worker_id) request["worker_id"] = *worker_id;
  return request;
}

}  // namespace harness
