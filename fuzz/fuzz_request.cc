// The request codec: parse_request on one request line (the daemon hands it whatever a client
// sent before '\n', up to 1 MiB). Refusing with harness::Error is fine; anything else is a
// finding. Also: the reply encoders take arbitrary bytes without throwing and produce one line
// of JSON that reads back (the message intact when it is valid UTF-8); accepted requests are
// well-formed; the workflows of update_state and plan_import get the plan-file checks.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "fuzz_check.h"
#include "server/protocol.h"

namespace harness::fuzz {
namespace {

// error_reply(text) is one line of JSON, {"status":"error","message":text}, with text intact
// unless it is not valid UTF-8 (then invalid bytes become U+FFFD rather than the reply failing).
void check_error_reply(const std::string& reply, std::string_view text) {
  FUZZ_CHECK(reply.find('\n') == std::string::npos, "a reply is one line: " + reply);
  Json parsed;
  if (auto why = refused([&] { parsed = parse_json(reply); }))
    fail("a reply is valid JSON", *why + "\nreply: " + reply);
  FUZZ_CHECK(parsed.is_object() && parsed.size() == 2 && parsed.value("status", "") == "error" &&
                 parsed.contains("message") && parsed["message"].is_string(),
             "reply envelope: " + reply);
  if (parsed["message"].get_ref<const std::string&>() == text) return;
  bool valid_utf8 = true;  // nlohmann's strict serializer is the oracle
  try {
    (void)Json(std::string(text)).dump();
  } catch (const Json::type_error&) {
    valid_utf8 = false;
  }
  FUZZ_CHECK(!valid_utf8, "error_reply changed a valid UTF-8 message: " + reply);
}

void check_command(const CommandRequest& r) {
  FUZZ_CHECK(!r.args.empty(), "exec/git args are never empty");
  FUZZ_CHECK(!r.cwd || !r.cwd->empty(), "cwd is absent or non-empty");
  for (const auto& [name, value] : r.env)
    FUZZ_CHECK(!name.empty() && name.find('=') == std::string::npos, "env name: " + name);
  if (r.timeout) FUZZ_CHECK(r.timeout->count() > 0, "timeout is positive");
}

void check_request(const Request& request) {
  FUZZ_CHECK(!command_name(request).empty(), "every request has a name");
  if (auto* r = std::get_if<UpdateStateRequest>(&request)) check_workflow(r->workflow);
  if (auto* r = std::get_if<PlanImportRequest>(&request)) {
    FUZZ_CHECK(r->workflow.has_value() != r->file.has_value(), "plan_import: tasks xor file");
    if (r->file) FUZZ_CHECK(!r->file->empty() && r->file->front() == '/', "file is absolute");
    if (r->workflow) check_workflow(*r->workflow);
  }
  if (auto* r = std::get_if<ClaimRequest>(&request))
    FUZZ_CHECK(!r->worker_id.empty(), "worker_id is non-empty");
  if (auto* r = std::get_if<CompleteRequest>(&request))
    FUZZ_CHECK(!r->task_id.empty() && !r->worker_id.empty(), "ids are non-empty");
  if (auto* r = std::get_if<ExecRequest>(&request)) check_command(*r);
  if (auto* r = std::get_if<GitRequest>(&request)) check_command(*r);
}

}  // namespace
}  // namespace harness::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace harness;
  using namespace harness::fuzz;
  const std::string_view line(reinterpret_cast<const char*>(data), size);

  // The encoders on arbitrary bytes: command output and echoed request text can be anything.
  std::string error_line, ok_line;
  must_not_throw("error_reply never throws", [&] { error_line = error_reply(line); });
  must_not_throw("ok_reply never throws", [&] { ok_line = ok_reply(Json(std::string(line))); });
  check_error_reply(error_line, line);  // reading one back covers the serializer both use
  FUZZ_CHECK(ok_line.starts_with(R"({"status":"ok","data":")") && ok_line.ends_with("\"}") &&
                 ok_line.find('\n') == std::string::npos,
             "ok_reply is one line: " + ok_line);

  must_not_throw("parse_request throws only harness::Error", [&] {
    Request request;
    if (auto why = refused([&] { request = parse_request(line); })) {
      FUZZ_CHECK(!why->empty(), "an error names the problem");
      error_reply(*why);  // what the daemon sends back; must not throw either
      return;
    }
    check_request(request);
  });
  return 0;
}
