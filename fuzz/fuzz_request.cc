// The request codec: parse_request on one request line (the daemon hands it whatever a client
// sent before '\n', up to 1 MiB). Refusing with harness::Error is fine; anything else is a
// finding. Also: the reply encoders take arbitrary bytes without throwing and produce one line
// of JSON that reads back (the message intact when it is valid UTF-8); the exec reply encoder
// matches the general one and cuts output only where its cap says; accepted requests are
// well-formed; the workflows of update_state and plan_import get the plan-file checks; the
// hot path for flat requests agrees with the full parser wherever it takes a line, and so does
// the parser of plan request lines (protocol/bulk_request.h) wherever the line names one first.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <variant>

#include "fuzz_check.h"
#include "protocol/bulk_request.h"
#include "protocol/envelope.h"
#include "protocol/flat_request.h"
#include "protocol/reply_encoder.h"
#include "protocol/request_codec.h"

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

// command_reply on arbitrary output: with room for all of it, exactly the bytes ok_reply
// writes for the same data; cut to a small cap, within its bound, valid JSON, and each stream
// the start of the uncut one, as encoded, within the cap.
void check_command_reply(std::string_view output) {
  CommandResponse r;
  r.stdout_bytes = std::string(output);
  r.stderr_bytes = std::string(output.substr(output.size() / 2));
  const std::string whole = command_reply(r);
  FUZZ_CHECK(whole == ok_reply(Json{{"returncode", 0},
                                    {"stdout", r.stdout_bytes},
                                    {"stderr", r.stderr_bytes},
                                    {"duration_ms", 0},
                                    {"timed_out", false},
                                    {"truncated", false}}),
             "command_reply differs from ok_reply: " + whole);
  const std::size_t cap = output.size() / 3;  // cuts most outputs somewhere
  const std::string cut = command_reply(r, cap);
  FUZZ_CHECK(cut.size() <= 2 * cap + kCommandReplyOverhead, "reply over its bound: " + cut);
  Json cut_data, whole_data;
  if (auto why = refused([&] { cut_data = parse_json(cut)["data"]; }))
    fail("a cut command reply is valid JSON", *why + "\nreply: " + cut);
  whole_data = parse_json(whole)["data"];
  bool any_cut = false;
  for (const char* stream : {"stdout", "stderr"}) {
    const std::string kept = cut_data[stream].dump(), all = whole_data[stream].dump();
    // Without their closing quotes, the kept text's encoding starts the whole text's.
    FUZZ_CHECK(kept.size() - 2 <= cap && all.starts_with(kept.substr(0, kept.size() - 1)),
               std::string(stream) + " is not what fits of the whole: " + cut);
    any_cut = any_cut || kept != all;
  }
  FUZZ_CHECK(cut_data["truncated"] == any_cut, "truncated says whether anything was cut: " + cut);
}

bool has_nul(const std::string& s) { return s.find('\0') != std::string::npos; }

void check_command(const CommandRequest& r) {
  FUZZ_CHECK(!r.args.empty(), "exec/git args are never empty");
  FUZZ_CHECK(!r.cwd || !r.cwd->empty(), "cwd is absent or non-empty");
  for (const std::string& a : r.args) FUZZ_CHECK(!has_nul(a), "no NUL in an accepted argument");
  FUZZ_CHECK(!r.cwd || !has_nul(*r.cwd), "no NUL in an accepted cwd");
  for (const auto& [name, value] : r.env) {
    FUZZ_CHECK(!name.empty() && name.find('=') == std::string::npos, "env name: " + name);
    FUZZ_CHECK(!has_nul(name) && !has_nul(value), "no NUL in an accepted env entry");
  }
  if (r.timeout) FUZZ_CHECK(r.timeout->count() > 0, "timeout is positive");
}

// Tasks are encoded as a map by id, which cannot hold two tasks of one id: such a request
// encodes to a line the daemon refuses, naming the duplicate key, as validation would.
bool has_duplicate_task_ids(const Request& request) {
  const Workflow* workflow = nullptr;
  if (auto* r = std::get_if<UpdateStateRequest>(&request)) workflow = &r->workflow;
  if (auto* r = std::get_if<PlanImportRequest>(&request); r && r->workflow)
    workflow = &*r->workflow;
  if (!workflow) return false;
  std::set<std::string_view> ids;
  for (const Task& task : workflow->tasks)
    if (!ids.insert(task.id).second) return true;
  return false;
}

void check_request(const Request& request) {
  if (!has_duplicate_task_ids(request))
    FUZZ_CHECK(parse_request_fully(encode_request(request)) == request,
               "an accepted request encodes to a line that reads back as itself");
  if (auto* r = std::get_if<UpdateStateRequest>(&request)) check_workflow(r->workflow);
  if (auto* r = std::get_if<PlanImportRequest>(&request)) {
    FUZZ_CHECK(r->workflow.has_value() != r->file.has_value(), "plan_import: tasks xor file");
    if (r->file)
      FUZZ_CHECK(!r->file->empty() && r->file->front() == '/' && !has_nul(*r->file),
                 "file is absolute, without NUL");
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
  check_command_reply(line);
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

  // The hot path takes a line only when the full parser makes the same request of it.
  must_not_throw("the hot path never throws", [&] {
    const std::optional<Request> flat = parse_flat_request(line);
    if (!flat) return;
    Request full;
    if (auto why = refused([&] { full = parse_request_fully(line); }))
      fail("the full parser accepts what the hot path takes", *why);
    FUZZ_CHECK(full == *flat, "the hot path and the full parser agree");
  });
  // A plan request line (as long ones are read) parses to what the full parser makes of it, and
  // is refused, with Error, exactly when the full parser refuses it.
  if (bulk_command_of(line)) {
    std::optional<Request> full, bulk;
    const auto full_refusal = refused([&] { full = parse_request_fully(line); });
    const auto bulk_refusal = refused([&] { bulk = parse_bulk_request(line); });
    FUZZ_CHECK(full_refusal.has_value() == bulk_refusal.has_value(),
               "the plan request parser refuses what the full parser refuses");
    if (full && bulk) FUZZ_CHECK(*full == *bulk, "the plan request parser and the full one agree");
  }
  return 0;
}
