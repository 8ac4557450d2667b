#include "protocol/responses.h"

#include "core/base64.h"
#include "core/error.h"

namespace harness {

namespace {

Error not_understood(const char* response, const Json& data, const char* why) {
  return Error::io(
      std::string("the daemon's ") + response + " reply is not understood (" + why +
      "): " + data.dump(-1, ' ', false, Json::error_handler_t::replace).substr(0, 200));
}

// Reads a response with `read`, turning a type or field mismatch into the Error a client
// reports: the daemon answered something this version does not understand.
template <typename Read>
auto reading(const char* response, const Json& data, Read read) {
  try {
    return read(data);
  } catch (const Json::exception& e) {
    throw not_understood(response, data, e.what());
  } catch (const Error& e) {  // a task or workflow that does not read (task.h)
    throw not_understood(response, data, e.what());
  }
}

std::optional<Workflow> optional_workflow(const Json& data) {
  if (data.is_null()) return std::nullopt;
  return workflow_from_json(data);
}

}  // namespace

Json PingResponse::to_json() const {
  Json j{{"running", true}, {"pid", pid}, {"worktree", worktree}};
  if (store) j["store"] = *store;
  return j;
}

PingResponse PingResponse::from_json(const Json& data) {
  return reading("ping", data, [](const Json& d) {
    PingResponse ping{d.at("pid").get<std::int64_t>(), d.at("worktree").get<std::string>()};
    if (d.contains("store")) ping.store = d.at("store").get<std::string>();
    return ping;
  });
}

Json GetStateResponse::to_json() const {
  return workflow ? workflow_to_json(*workflow) : Json(nullptr);
}

GetStateResponse GetStateResponse::from_json(const Json& data) {
  return reading("get_state", data,
                 [](const Json& d) { return GetStateResponse{optional_workflow(d)}; });
}

Json StatusResponse::to_json() const {
  if (!tasks) return Json(nullptr);
  return Json{
      {"pending", tasks->pending},
      {"running", tasks->running},
      {"completed", tasks->completed},
      {"failed", tasks->failed},
      {"total", tasks->total},
      {"commits",
       {{"batches", commits.batches}, {"mutations", commits.mutations}, {"syncs", commits.syncs}}},
      {"commands",
       {{"running", commands.running}, {"queued", commands.queued}, {"max", commands.max}}},
      {"waiting_claims", waiting_claims}};
}

StatusResponse StatusResponse::from_json(const Json& data) {
  if (data.is_null()) return {};
  return reading("status", data, [](const Json& d) {
    StatusResponse r;
    r.tasks =
        Tasks{d.at("pending"), d.at("running"), d.at("completed"), d.at("failed"), d.at("total")};
    const Json& c = d.at("commits");
    r.commits = Commits{c.at("batches"), c.at("mutations"), c.at("syncs")};
    const Json& n = d.at("commands");
    r.commands = Commands{n.at("running"), n.at("queued"), n.at("max")};
    r.waiting_claims = d.value("waiting_claims", 0);
    return r;
  });
}

Json UpdateStateResponse::to_json() const { return workflow_to_json(workflow); }

UpdateStateResponse UpdateStateResponse::from_json(const Json& data) {
  return reading("update_state", data,
                 [](const Json& d) { return UpdateStateResponse{workflow_from_json(d)}; });
}

Json PlanImportResponse::to_json() const { return Json{{"imported", imported}}; }

PlanImportResponse PlanImportResponse::from_json(const Json& data) {
  return reading("plan_import", data, [](const Json& d) {
    return PlanImportResponse{d.at("imported").get<std::size_t>()};
  });
}

Json ClaimResponse::to_json() const {
  Json data{{"task", task ? task_to_json(*task) : Json(nullptr)},
            {"is_retry", is_retry},
            {"is_reclaim", is_reclaim},
            {"plan_complete", plan_complete}};
  if (task) {
    data["lease"] = lease;
    data["attempt"] = attempt;
    data["lease_expires_at"] =
        task->lease_expires_at ? Json(format_iso8601(*task->lease_expires_at)) : Json(nullptr);
  }
  return data;
}

namespace {

ClaimResponse claim_from(const Json& d) {
  ClaimResponse r;
  if (const Json& task = d.at("task"); !task.is_null()) r.task = task_from_json(task);
  r.is_retry = d.at("is_retry");
  r.is_reclaim = d.at("is_reclaim");
  r.plan_complete = d.value("plan_complete", false);
  r.lease = d.value("lease", "");
  r.attempt = d.value("attempt", 0);
  return r;
}

Micros time_field(const Json& d, const char* name) {
  const std::optional<Micros> t = parse_iso8601(d.at(name).get<std::string>());
  if (!t) throw Error::invalid(std::string("'") + name + "' is not a time");
  return *t;
}

}  // namespace

ClaimResponse ClaimResponse::from_json(const Json& data) {
  return reading("task_claim", data, claim_from);
}

Json CompleteResponse::to_json() const {
  Json data{{"task_id", task_id}};
  if (next) data["next"] = next->to_json();
  return data;
}

CompleteResponse CompleteResponse::from_json(const Json& data) {
  return reading("task_complete", data, [](const Json& d) {
    CompleteResponse r{d.at("task_id").get<std::string>()};
    if (d.contains("next")) r.next = claim_from(d.at("next"));
    return r;
  });
}

Json HeartbeatResponse::to_json() const {
  return Json{{"task_id", task_id}, {"lease_expires_at", format_iso8601(lease_expires_at)}};
}

HeartbeatResponse HeartbeatResponse::from_json(const Json& data) {
  return reading("task_heartbeat", data, [](const Json& d) {
    return HeartbeatResponse{d.at("task_id").get<std::string>(), time_field(d, "lease_expires_at")};
  });
}

ReleaseResponse ReleaseResponse::from_json(const Json& data) {
  return reading("task_release", data, [](const Json& d) {
    return ReleaseResponse{{d.at("task_id").get<std::string>()}};
  });
}

RetryResponse RetryResponse::from_json(const Json& data) {
  return reading("task_retry", data,
                 [](const Json& d) { return RetryResponse{{d.at("task_id").get<std::string>()}}; });
}

AddResponse AddResponse::from_json(const Json& data) {
  return reading("task_add", data,
                 [](const Json& d) { return AddResponse{{d.at("task_id").get<std::string>()}}; });
}

Json FailResponse::to_json() const {
  Json data{{"task_id", task_id}, {"attempt", attempt}, {"status", to_string(status)}};
  if (retry_at) data["retry_at"] = format_iso8601(*retry_at);
  return data;
}

FailResponse FailResponse::from_json(const Json& data) {
  return reading("task_fail", data, [](const Json& d) {
    FailResponse r{d.at("task_id").get<std::string>(), d.at("attempt").get<std::int64_t>(),
                   parse_task_status(d.at("status").get<std::string>())};
    if (d.contains("retry_at")) r.retry_at = time_field(d, "retry_at");
    return r;
  });
}

Json ShowResponse::to_json() const {
  Json data = task_to_json(task);
  data["attempts"] = task.attempts;
  data["last_error"] = task.last_error ? Json(*task.last_error) : Json(nullptr);
  data["lease_expires_at"] =
      task.lease_expires_at ? Json(format_iso8601(*task.lease_expires_at)) : Json(nullptr);
  data["blocked_by"] = blocked_by;
  return data;
}

ShowResponse ShowResponse::from_json(const Json& data) {
  return reading("task_show", data, [](const Json& d) {
    return ShowResponse{task_from_json(d), d.at("blocked_by").get<std::vector<std::string>>()};
  });
}

Json ListResponse::to_json() const {
  Json list = Json::array();
  for (const ShowResponse& t : tasks) list.push_back(t.to_json());
  return Json{{"tasks", std::move(list)}};
}

ListResponse ListResponse::from_json(const Json& data) {
  return reading("task_list", data, [](const Json& d) {
    ListResponse r;
    for (const Json& t : d.at("tasks")) r.tasks.push_back(ShowResponse::from_json(t));
    return r;
  });
}

Json CommandResponse::to_json() const {
  const auto stream = [this](const std::string& bytes) {
    if (!base64) return bytes;
    std::string encoded;
    append_base64(encoded, bytes);
    return encoded;
  };
  Json data{{"returncode", returncode},
            {"stdout", stream(stdout_bytes)},
            {"stderr", stream(stderr_bytes)}};
  if (signal_name) data["signal_name"] = *signal_name;
  data["duration_ms"] = duration_ms;
  data["timed_out"] = timed_out;
  data["truncated"] = truncated;
  if (base64) data["encoding"] = "base64";
  return data;
}

CommandResponse CommandResponse::from_json(const Json& data) {
  return reading("command", data, [](const Json& d) {
    CommandResponse r;
    r.base64 = d.value("encoding", std::string()) == "base64";
    const auto stream = [&](const char* name) {
      std::string text = d.at(name).get<std::string>();
      return r.base64 ? decode_base64(text) : text;
    };
    r.returncode = d.at("returncode");
    r.stdout_bytes = stream("stdout");
    r.stderr_bytes = stream("stderr");
    if (d.contains("signal_name")) r.signal_name = d.at("signal_name").get<std::string>();
    r.duration_ms = d.at("duration_ms");
    r.timed_out = d.at("timed_out");
    r.truncated = d.at("truncated");
    return r;
  });
}

}  // namespace harness
