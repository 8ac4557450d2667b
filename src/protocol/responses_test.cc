#include "protocol/responses.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "protocol/envelope.h"
#include "protocol/reply_encoder.h"

namespace harness {
namespace {

Task running_task() {
  Task t;
  t.id = "t48213";
  t.description = "with \"quotes\" and \xc3\xa9";
  t.status = TaskStatus::kRunning;
  t.dependencies = {"a", "b"};
  t.started_at = Micros(1700000000000000);
  t.claimed_by = "worker-1";
  t.instructions = "do it";
  t.command = std::vector<std::string>{"make", "test"};
  return t;
}

Workflow two_tasks() {
  Workflow w;
  w.tasks.push_back(Task{.id = "a"});
  w.tasks.push_back(Task{.id = "b", .dependencies = {"a"}});
  return w;
}

CommandResponse command_response(bool base64) {
  CommandResponse r;
  r.returncode = -9;
  r.stdout_bytes = std::string("out\0put\xff", 8);
  r.stderr_bytes = "err";
  r.signal_name = "SIGKILL";
  r.duration_ms = 12;
  r.timed_out = true;
  r.truncated = false;
  r.base64 = base64;
  return r;
}

// Every answer the daemon sends: what reply_encoder writes (directly, for some) is the envelope
// around the response's to_json, and a client reads the same response back from it.
template <typename Response>
void expect_round_trip(const Response& response) {
  const std::string line = encode_answer(Answer(std::in_place_type<Response>, response));
  const ReplyEnvelope envelope = parse_reply(line);
  ASSERT_TRUE(envelope.ok) << line;
  EXPECT_EQ(envelope.data, response.to_json()) << line;
  EXPECT_EQ(Response::from_json(envelope.data), response) << line;
  EXPECT_EQ(line, ok_reply(response.to_json())) << "the direct encoding differs from to_json";
}

TEST(Responses, EveryResponseEncodesAsItsToJsonAndReadsBack) {
  expect_round_trip(PingResponse{42, "/repo"});
  expect_round_trip(PingResponse{42, "/repo", "PostgreSQL at postgresql://db/h, plan p"});
  expect_round_trip(GetStateResponse{two_tasks()});
  expect_round_trip(GetStateResponse{});
  StatusResponse status;
  status.tasks = StatusResponse::Tasks{1, 2, 3, 4, 10};
  status.commits = {5, 6, 7};
  status.commands = {1, 0, 64};
  expect_round_trip(status);
  expect_round_trip(StatusResponse{});
  expect_round_trip(UpdateStateResponse{two_tasks()});
  expect_round_trip(PlanImportResponse{3});
  expect_round_trip(ClaimResponse{running_task(), true, false, false});
  expect_round_trip(ClaimResponse{std::nullopt, false, true, true});
  expect_round_trip(CompleteResponse{"t\"1"});
  expect_round_trip(ShutdownResponse{});
  expect_round_trip(ExecResponse{command_response(true)});
  expect_round_trip(GitResponse{command_response(true)});
}

TEST(Responses, TextCommandOutputReadsBackWithInvalidUtf8Replaced) {
  ExecResponse r{command_response(false)};
  const ReplyEnvelope envelope = parse_reply(encode_answer(r));
  const ExecResponse back = ExecResponse::from_json(envelope.data);
  EXPECT_EQ(back.stdout_bytes, std::string("out\0put\xEF\xBF\xBD", 10));
  EXPECT_FALSE(back.base64);
}

TEST(Responses, AnErrorAnswerIsTheErrorEnvelope) {
  const ReplyEnvelope envelope = parse_reply(encode_answer(ErrorAnswer{"Task x not found"}));
  EXPECT_FALSE(envelope.ok);
  EXPECT_EQ(envelope.message, "Task x not found");
}

TEST(Responses, DataAClientDoesNotUnderstandIsAnIoError) {
  try {
    ClaimResponse::from_json(Json{{"task", 3}});
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kIo);
  }
  EXPECT_THROW(parse_reply("not json"), Error);
  EXPECT_THROW(parse_reply(R"({"data":1})"), Error);
}

}  // namespace
}  // namespace harness
