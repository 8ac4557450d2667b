#include "protocol/requests.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "protocol/envelope.h"
#include "protocol/request_codec.h"

namespace harness {
namespace {

// A completion by `worker` of `task` at HEAD `commit`, without a lease.
CompleteRequest completion(std::string task, std::string worker,
                           std::optional<std::string> commit) {
  CompleteRequest r;
  r.task_id = std::move(task);
  r.worker_id = std::move(worker);
  r.commit = std::move(commit);
  return r;
}

std::string parse_error(std::string_view line) {
  try {
    parse_request(line);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kInvalidArgument);
    return e.what();
  }
  ADD_FAILURE() << "accepted: " << line;
  return "";
}

TEST(Protocol, ParsesEveryCommand) {
  EXPECT_TRUE(std::holds_alternative<PingRequest>(parse_request(R"({"command":"ping"})")));
  EXPECT_TRUE(std::holds_alternative<GetStateRequest>(parse_request(R"({"command":"get_state"})")));
  EXPECT_TRUE(std::holds_alternative<StatusRequest>(parse_request(R"({"command":"status"})")));
  EXPECT_TRUE(std::holds_alternative<ShutdownRequest>(parse_request(R"({"command":"shutdown"})")));

  auto claim =
      std::get<ClaimRequest>(parse_request(R"({"command":"task_claim","worker_id":"w1"})"));
  EXPECT_EQ(claim.worker_id, "w1");

  auto complete = std::get<CompleteRequest>(
      parse_request(R"({"command":"task_complete","task_id":"t","worker_id":"w","commit":"abc"})"));
  EXPECT_EQ(complete.task_id, "t");
  EXPECT_EQ(complete.commit, "abc");

  auto update = std::get<UpdateStateRequest>(parse_request(
      R"({"command":"update_state","updates":{"tasks":{"b":{},"a":{"dependencies":["b"]}}}})"));
  ASSERT_EQ(update.workflow.tasks.size(), 2u);
  EXPECT_EQ(update.workflow.tasks[0].id, "b");  // plan order is document order
  EXPECT_EQ(update.workflow.tasks[1].dependencies, std::vector<std::string>{"b"});

  auto exec = std::get<ExecRequest>(parse_request(
      R"({"command":"exec","args":["ls","-l"],"cwd":"/tmp","env":{"A":"1"},"timeout":1.5,"exclusive":true})"));
  EXPECT_EQ(exec.args, (std::vector<std::string>{"ls", "-l"}));
  EXPECT_EQ(exec.cwd, "/tmp");
  EXPECT_EQ(exec.env.at("A"), "1");
  EXPECT_EQ(exec.timeout, std::chrono::milliseconds(1500));
  EXPECT_TRUE(exec.exclusive);

  auto git = std::get<GitRequest>(parse_request(R"({"command":"git","args":["status"]})"));
  EXPECT_FALSE(git.timeout.has_value());
  EXPECT_FALSE(git.cwd.has_value());

  auto import = std::get<PlanImportRequest>(
      parse_request(R"({"command":"plan_import","file":"/p.json","force":true})"));
  EXPECT_EQ(import.file, "/p.json");
  EXPECT_TRUE(import.force);
  EXPECT_FALSE(import.format.has_value());
  EXPECT_FALSE(import.parallel);
}

TEST(Protocol, PlanImportTakesAFormatAndParallelOnlyWithAFile) {
  auto import = std::get<PlanImportRequest>(parse_request(
      R"({"command":"plan_import","file":"/p.md","format":"markdown","parallel":true})"));
  EXPECT_EQ(import.format, "markdown");
  EXPECT_TRUE(import.parallel);
  EXPECT_THROW(parse_request(R"({"command":"plan_import","tasks":[],"format":"markdown"})"), Error);
  EXPECT_THROW(parse_request(R"({"command":"plan_import","tasks":[],"parallel":true})"), Error);
}

TEST(Protocol, CommandRequestsMayCarryACompleteEnvironmentAndAskForBase64) {
  auto exec = std::get<ExecRequest>(parse_request(
      R"({"command":"exec","args":["true"],"env":{"A":"1"},"env_complete":true,"output_encoding":"base64"})"));
  EXPECT_TRUE(exec.env_complete);
  EXPECT_TRUE(exec.base64_output);
  auto git = std::get<GitRequest>(
      parse_request(R"({"command":"git","args":["status"],"output_encoding":"text"})"));
  EXPECT_FALSE(git.env_complete);  // an old client's env is merged over the daemon's
  EXPECT_FALSE(git.base64_output);
  EXPECT_NE(parse_error(R"({"command":"exec","args":["true"],"output_encoding":"hex"})")
                .find("output_encoding"),
            std::string::npos);
  EXPECT_NE(
      parse_error(R"({"command":"exec","args":["true"],"env_complete":1})").find("env_complete"),
      std::string::npos);
}

TEST(Protocol, NullOptionalFieldsCountAsAbsent) {
  auto exec = std::get<ExecRequest>(
      parse_request(R"({"command":"exec","args":["true"],"cwd":null,"timeout":null})"));
  EXPECT_FALSE(exec.cwd.has_value());
  EXPECT_FALSE(exec.timeout.has_value());
}

TEST(Protocol, RejectsMalformedInputNamingTheProblem) {
  EXPECT_NE(parse_error("").find("invalid JSON"), std::string::npos);
  EXPECT_NE(parse_error("{\"command\":").find("invalid JSON"), std::string::npos);
  EXPECT_NE(parse_error(std::string("{\"command\":\"ping\0\"}", 19)).find("invalid JSON"),
            std::string::npos);
  EXPECT_NE(parse_error("{\"command\":\"\xff\"}").find("invalid JSON"), std::string::npos);
  EXPECT_EQ(parse_error("[]"), "request must be a JSON object");
  EXPECT_EQ(parse_error("42"), "request must be a JSON object");
  EXPECT_EQ(parse_error("{}"), "missing field 'command'");
  EXPECT_EQ(parse_error(R"({"command":["ping"]})"), "field 'command' must be a string");
  EXPECT_EQ(parse_error(R"({"command":"nope"})"), "unknown command 'nope'");
  EXPECT_EQ(parse_error(R"({"command":"task_claim","worker_id":""})"),
            "field 'worker_id' must be a non-empty string");
  EXPECT_EQ(parse_error(R"({"command":"exec","args":[]})"),
            "field 'args' must be a non-empty list of strings");
  EXPECT_EQ(parse_error(R"({"command":"exec","args":["a",1]})"),
            "field 'args' must be a non-empty list of strings");
  EXPECT_EQ(parse_error(R"({"command":"exec","args":["a"],"timeout":"5"})"),
            "field 'timeout' must be a number of seconds");
  EXPECT_EQ(parse_error(R"({"command":"exec","args":["a"],"timeout":0})"),
            "field 'timeout' must be a positive number of seconds");
  EXPECT_EQ(parse_error(R"({"command":"exec","args":["a"],"exclusive":"yes"})"),
            "field 'exclusive' must be true or false");
  EXPECT_NE(parse_error(R"({"command":"exec","args":["a"],"env":{"A=B":"1"}})").find("field 'env'"),
            std::string::npos);
  EXPECT_EQ(parse_error(R"({"command":"update_state","updates":[]})"),
            "field 'updates' must be an object with a 'tasks' map");
  EXPECT_EQ(parse_error(R"({"command":"plan_import"})"), "give exactly one of 'tasks' and 'file'");
  EXPECT_EQ(parse_error(R"({"command":"plan_import","file":"rel.json"})"),
            "field 'file' must be an absolute path");
  EXPECT_NE(parse_error(R"({"command":"update_state","updates":{"tasks":{"a":{"status":"done"}}}})")
                .find("status"),
            std::string::npos);
}

TEST(Protocol, DeepNestingIsRejectedWithoutRecursion) {
  std::string deep(100000, '[');
  EXPECT_NE(parse_error(deep).find("nested deeper"), std::string::npos);
}

TEST(Protocol, RepliesAreSingleLineEnvelopes) {
  EXPECT_EQ(ok_reply(Json{{"a", 1}}), R"({"status":"ok","data":{"a":1}})");
  EXPECT_EQ(ok_reply_serialized("null"), R"({"status":"ok","data":null})");
  EXPECT_EQ(error_reply("bad\nthing"), R"({"status":"error","message":"bad\nthing"})");
  // Invalid UTF-8 in a message or in command output is replaced, never a failure.
  EXPECT_NE(error_reply("\xff").find("\xEF\xBF\xBD"), std::string::npos);  // U+FFFD
  EXPECT_NE(ok_reply(Json{{"stdout", "\xfe"}}).find("\xEF\xBF\xBD"), std::string::npos);
}

TEST(Protocol, ATimeoutAboveZeroIsAtLeastAMillisecond) {
  const auto exec =
      std::get<ExecRequest>(parse_request(R"({"command":"exec","args":["a"],"timeout":4.9e-324})"));
  EXPECT_EQ(exec.timeout, std::chrono::milliseconds(1));
  EXPECT_EQ(command_timeout(0.0015), std::chrono::milliseconds(2));
}

TEST(Protocol, CommandNamesComeFromTheTable) {
  EXPECT_EQ(command_name_of<ClaimRequest>, "task_claim");
  EXPECT_EQ(command_name_of<GitRequest>, "git");
  EXPECT_EQ(Commands::kNames.size(), std::variant_size_v<Request>);
}

// What a client encodes, the daemon reads back as the same request: for every command.
TEST(Protocol, EveryEncodedRequestParsesBackToItself) {
  Workflow workflow;
  workflow.tasks.push_back(Task{.id = "a", .description = "first"});
  workflow.tasks.push_back(Task{.id = "b", .dependencies = {"a"}});
  ExecRequest exec;
  exec.args = {"ls", "-l"};
  exec.cwd = "/tmp";
  exec.env = {{"A", "1"}};
  exec.env_complete = true;
  exec.timeout = std::chrono::milliseconds(1500);
  exec.exclusive = true;
  GitRequest git;
  git.args = {"status"};
  git.base64_output = true;
  std::vector<Request> requests{PingRequest{},
                                GetStateRequest{},
                                StatusRequest{},
                                UpdateStateRequest{workflow},
                                PlanImportRequest{workflow, std::nullopt, true},
                                PlanImportRequest{std::nullopt, "/plan.md", false},
                                PlanImportRequest{std::nullopt, "/plan.md", true, "markdown", true},
                                ClaimRequest{"w1"},
                                completion("a", "w1", "abc123"),
                                completion("a", "w1", std::nullopt),
                                exec,
                                git,
                                ShutdownRequest{}};
  for (const std::int64_t ms :
       std::initializer_list<std::int64_t>{1, 999, 2007, 2011, 1'000'000'000'000}) {
    exec.timeout = std::chrono::milliseconds(ms);
    requests.push_back(exec);
  }
  for (const Request& request : requests) {
    const std::string line = encode_request(request);
    EXPECT_EQ(parse_request(line), request) << line;
    EXPECT_EQ(parse_request_fully(line), request) << line;
  }
}

}  // namespace
}  // namespace harness
