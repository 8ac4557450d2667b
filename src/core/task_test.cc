#include "core/task.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"

namespace harness {
namespace {

using ::testing::HasSubstr;

// Runs `fn`, expecting Error::invalid, and returns its message.
template <typename Fn>
std::string invalid_message(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kInvalidArgument) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "expected Error::invalid";
  return {};
}

Task full_task() {
  Task t;
  t.id = "build";
  t.description = "Build the thing";
  t.status = TaskStatus::kRunning;
  t.dependencies = {"fetch", "configure"};
  t.started_at = 1'700'000'000'123'456;
  t.completed_at = 1'700'000'100'000'001;
  t.claimed_by = "worker-7";
  t.timeout_seconds = 42;
  t.instructions = "Run the build.\nThen report.";
  t.command = std::vector<std::string>{"make", "-j", "8", "arg with spaces"};
  t.priority = -4;
  t.role = "reviewer";
  t.max_attempts = 5;
  t.retry_backoff_seconds = 0;
  t.attempts = 2;
  t.last_error = "tests failed";
  t.lease_expires_at = 1'700'000'042'123'456;
  t.retry_at = 1'700'000'050'000'000;
  t.packet->model = "opus";
  t.packet->input_context = "the parser";
  t.packet->output_contract = "a passing build";
  t.packet->constraints = "no new dependencies";
  t.packet->success_criteria = "make test passes";
  t.packet->files_in_scope = std::vector<std::string>{"src/**"};
  t.packet->files_out_of_scope = std::vector<std::string>{"docs/**", "tests/**"};
  t.packet->tools = std::vector<std::string>{};
  t.packet->artifacts_to_read = std::vector<std::string>{"design.md"};
  t.packet->artifacts_to_write = std::vector<std::string>{"report.md"};
  t.packet->verification_commands =
      std::vector<std::vector<std::string>>{{"make", "test"}, {"sh", "-c", "exit 0"}};
  return t;
}

TEST(TaskStatus, StringsRoundTrip) {
  for (TaskStatus s :
       {TaskStatus::kPending, TaskStatus::kRunning, TaskStatus::kCompleted, TaskStatus::kFailed}) {
    EXPECT_EQ(parse_task_status(to_string(s)), s);
  }
  EXPECT_EQ(to_string(TaskStatus::kPending), "pending");
  EXPECT_EQ(to_string(TaskStatus::kRunning), "running");
  EXPECT_EQ(to_string(TaskStatus::kCompleted), "completed");
  EXPECT_EQ(to_string(TaskStatus::kFailed), "failed");
}

TEST(TaskStatus, RejectsUnknown) {
  for (const char* bad : {"", "Pending", "done", "pending "}) {
    EXPECT_THAT(invalid_message([&] { parse_task_status(bad); }), HasSubstr("unknown task status"))
        << bad;
  }
}

TEST(TaskCodec, ToJsonHasEveryField) {
  Json j = task_to_json(full_task());
  EXPECT_EQ(j.at("id"), "build");
  EXPECT_EQ(j.at("description"), "Build the thing");
  EXPECT_EQ(j.at("status"), "running");
  EXPECT_EQ(j.at("dependencies"), Json::array({"fetch", "configure"}));
  EXPECT_EQ(j.at("started_at"), "2023-11-14T22:13:20.123456+00:00");
  EXPECT_EQ(j.at("completed_at"), "2023-11-14T22:15:00.000001+00:00");
  EXPECT_EQ(j.at("claimed_by"), "worker-7");
  EXPECT_EQ(j.at("timeout_seconds"), 42);
  EXPECT_EQ(j.at("instructions"), "Run the build.\nThen report.");
  EXPECT_EQ(j.at("command"), Json::array({"make", "-j", "8", "arg with spaces"}));
  EXPECT_EQ(j.at("priority"), -4);
  EXPECT_EQ(j.at("role"), "reviewer");
  EXPECT_EQ(j.at("max_attempts"), 5);
  EXPECT_EQ(j.at("retry_backoff_seconds"), 0);
  EXPECT_EQ(j.at("attempts"), 2);
  EXPECT_EQ(j.at("last_error"), "tests failed");
  EXPECT_EQ(j.at("lease_expires_at"), "2023-11-14T22:14:02.123456+00:00");
  EXPECT_EQ(j.at("retry_at"), "2023-11-14T22:14:10.000000+00:00");
  EXPECT_EQ(j.at("model"), "opus");
  EXPECT_EQ(j.at("files_out_of_scope"), Json::array({"docs/**", "tests/**"}));
  EXPECT_EQ(j.at("tools"), Json::array());
  EXPECT_EQ(j.at("verification_commands"),
            Json::parse(R"([["make", "test"], ["sh", "-c", "exit 0"]])"));
}

TEST(TaskCodec, VerificationCommandsAreArgvListsOrStringsSplitLikeShellWords) {
  const Task t = task_from_json(parse_json(R"({"id": "a", "verification_commands": [
      "pytest -q 'tests/a b.py' \"x y\" back\\ slash $HOME *.py",
      ["make", "check"]]})"));
  ASSERT_TRUE(t.packet->verification_commands);
  EXPECT_EQ(*t.packet->verification_commands,
            (std::vector<std::vector<std::string>>{
                {"pytest", "-q", "tests/a b.py", "x y", "back slash", "$HOME", "*.py"},
                {"make", "check"}}));
}

TEST(TaskCodec, BadSchedulingAndPacketFieldsNameTaskAndField) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"("max_attempts": 0)", "'max_attempts' must be between 1 and"},
      {R"("priority": 1e12)", "'priority' must be between"},
      {R"("priority": "high")", "'priority' must be a whole number"},
      {R"("retry_backoff_seconds": -1)", "'retry_backoff_seconds' must be between 0 and 600"},
      {R"("attempts": -1)", "'attempts' must be between 0"},
      {R"("role": 3)", "'role' must be a string"},
      {R"("files_in_scope": "src")", "'files_in_scope' must be a list of strings"},
      {R"("verification_commands": "make")", "'verification_commands' must be a list"},
      {R"("verification_commands": [""])", "'verification_commands' has a command that cannot be"},
      {R"("verification_commands": [[]])", "'verification_commands' has an empty command"},
      {R"("verification_commands": [[1]])", "must hold strings or lists of strings"},
      {R"("verification_commands": ["echo 'open"])", "cannot be split"},
      {R"("lease_expires_at": "soon")", "'lease_expires_at' is not an ISO-8601"},
  };
  for (const auto& [field, message] : cases) {
    const std::string text = R"({"id": "t", )" + field + "}";
    EXPECT_THAT(invalid_message([&] { task_from_json(parse_json(text)); }),
                AllOf(HasSubstr("task 't'"), HasSubstr(message)))
        << text;
  }
}

TEST(TaskCodec, RetryBackoffDoublesFromTheBaseUpToTheCap) {
  Task t;
  EXPECT_EQ(retry_backoff_after(t, 1), 5);
  EXPECT_EQ(retry_backoff_after(t, 2), 10);
  EXPECT_EQ(retry_backoff_after(t, 3), 20);
  EXPECT_EQ(retry_backoff_after(t, 8), 600);  // 5 × 128 = 640, capped
  EXPECT_EQ(retry_backoff_after(t, 1'000'000), 600);
  t.retry_backoff_seconds = 0;
  EXPECT_EQ(retry_backoff_after(t, 5), 0);
  t.retry_backoff_seconds = 600;
  EXPECT_EQ(retry_backoff_after(t, 1), 600);
}

TEST(SplitShellWords, QuotesAndBackslashesWithoutExpansion) {
  EXPECT_EQ(split_shell_words("a  'b c'\td\"e f\" $X `y` ~ g\\ h"),
            (std::vector<std::string>{"a", "b c", "de f", "$X", "`y`", "~", "g h"}));
  EXPECT_THROW(split_shell_words("unterminated \"quote"), Error);
  EXPECT_THROW(split_shell_words("   "), Error);
}

TEST(TaskCodec, ToJsonOfDefaultTaskWritesNullsAndOmitsOptionalText) {
  Task t;
  t.id = "a";
  Json j = task_to_json(t);
  std::vector<std::string> keys;
  for (const auto& item : j.items()) keys.push_back(item.key());
  EXPECT_EQ(keys,
            (std::vector<std::string>{"id", "description", "status", "dependencies", "started_at",
                                      "completed_at", "claimed_by", "timeout_seconds"}));
  EXPECT_EQ(j.at("description"), "");
  EXPECT_EQ(j.at("status"), "pending");
  EXPECT_EQ(j.at("dependencies"), Json::array());
  EXPECT_TRUE(j.at("started_at").is_null());
  EXPECT_TRUE(j.at("completed_at").is_null());
  EXPECT_TRUE(j.at("claimed_by").is_null());
  EXPECT_EQ(j.at("timeout_seconds"), 600);
}

// append_task_json is the hot path's writer of what task_to_json describes: the same text.
TEST(TaskCodec, AppendTaskJsonWritesWhatTaskToJsonDumps) {
  std::vector<Task> tasks = {full_task(), Task{.id = "a"}};
  Task odd;
  odd.id = "quote\" back\\slash tab\t nul" + std::string(1, '\0') + " del\x7f";
  odd.description = "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x9a\x80";         // UTF-8, 2 to 4 bytes
  odd.dependencies = {"bad \xff utf8", "cut \xe2\x9c", "", "\x01\x1f"};  // invalid, controls
  odd.claimed_by = "w\n";
  odd.status = TaskStatus::kFailed;
  odd.started_at = 0;
  odd.timeout_seconds = kMaxTimeoutSeconds;
  odd.instructions = "";
  odd.command = std::vector<std::string>{};
  tasks.push_back(odd);
  for (const Task& t : tasks) {
    std::string text = "prefix";
    append_task_json(text, t);
    EXPECT_EQ(text, "prefix" + task_to_json(t).dump(-1, ' ', false, Json::error_handler_t::replace))
        << t.id;
  }
}

TEST(TaskCodec, RoundTripsEveryField) {
  const Task t = full_task();
  EXPECT_EQ(task_from_json(task_to_json(t)), t);
  EXPECT_EQ(task_from_json(task_to_json(t), "build"), t);
  // Through text as well, which is how it travels.
  EXPECT_EQ(task_from_json(parse_json(task_to_json(t).dump())), t);
}

TEST(TaskCodec, RoundTripsMicrosecondTimestamps) {
  for (Micros when : {Micros{0}, Micros{1}, Micros{999'999}, Micros{1'700'000'000'000'001},
                      Micros{1'700'000'000'999'999}}) {
    Task t;
    t.id = "a";
    t.started_at = when;
    t.completed_at = when + 1;
    Task back = task_from_json(task_to_json(t));
    EXPECT_EQ(back.started_at, when);
    EXPECT_EQ(back.completed_at, when + 1);
  }
}

TEST(TaskCodec, RoundTripsWithoutOptionalFields) {
  Task t = full_task();
  t.instructions.reset();
  t.command.reset();
  Json j = task_to_json(t);
  EXPECT_FALSE(j.contains("instructions"));
  EXPECT_FALSE(j.contains("command"));
  EXPECT_EQ(task_from_json(j), t);
}

TEST(TaskCodec, RoundTripsEmptyInstructions) {
  Task t;
  t.id = "a";
  t.instructions = "";
  Task back = task_from_json(task_to_json(t));
  ASSERT_TRUE(back.instructions.has_value());
  EXPECT_EQ(*back.instructions, "");
}

TEST(TaskCodec, Defaults) {
  Task t = task_from_json(Json::object(), "a");
  EXPECT_EQ(t.id, "a");
  EXPECT_EQ(t.description, "");
  EXPECT_EQ(t.status, TaskStatus::kPending);
  EXPECT_TRUE(t.dependencies.empty());
  EXPECT_EQ(t.started_at, std::nullopt);
  EXPECT_EQ(t.completed_at, std::nullopt);
  EXPECT_EQ(t.claimed_by, std::nullopt);
  EXPECT_EQ(t.timeout_seconds, 600);
  EXPECT_EQ(t.timeout_seconds, kDefaultTimeoutSeconds);
  EXPECT_EQ(t.instructions, std::nullopt);
  EXPECT_EQ(t.command, std::nullopt);
}

TEST(TaskCodec, NullFieldsMeanDefaults) {
  Json j = parse_json(R"({"id": "a", "description": null, "status": null, "dependencies": null,
      "started_at": null, "completed_at": null, "claimed_by": null, "timeout_seconds": null,
      "instructions": null, "command": null})");
  Task expected;
  expected.id = "a";
  EXPECT_EQ(task_from_json(j), expected);
}

TEST(TaskCodec, IgnoresUnknownFields) {
  Task t = task_from_json(parse_json(R"({"id": "a", "priority": 3, "extra": {"x": [1]}})"));
  EXPECT_EQ(t.id, "a");
}

TEST(TaskCodec, IdFromKeyOrField) {
  EXPECT_EQ(task_from_json(parse_json(R"({"id": "a"})")).id, "a");
  EXPECT_EQ(task_from_json(parse_json(R"({"id": "a"})"), "a").id, "a");
  EXPECT_EQ(task_from_json(parse_json(R"({"description": "d"})"), "k").id, "k");
}

TEST(TaskCodec, IdMismatchWithKeyIsAnError) {
  std::string m = invalid_message([] { task_from_json(parse_json(R"({"id": "b"})"), "a"); });
  EXPECT_THAT(m, HasSubstr("'a'"));
  EXPECT_THAT(m, HasSubstr("'b'"));
  EXPECT_THAT(m, HasSubstr("'id'"));
}

TEST(TaskCodec, MissingIdIsAnError) {
  EXPECT_THAT(invalid_message([] { task_from_json(Json::object()); }), HasSubstr("no 'id'"));
  // Issue 13 item 20: an empty id is reported as such, not as a missing one.
  EXPECT_THAT(invalid_message([] { task_from_json(parse_json(R"({"id": ""})")); }),
              HasSubstr("'id' is empty"));
}

TEST(TaskCodec, NonStringIdIsAnError) {
  EXPECT_THAT(invalid_message([] { task_from_json(parse_json(R"({"id": 5})")); }),
              HasSubstr("'id' must be a string"));
  EXPECT_THAT(invalid_message([] { task_from_json(parse_json(R"({"id": ["a"]})"), "a"); }),
              HasSubstr("'id' must be a string"));
}

TEST(TaskCodec, NonObjectTaskIsAnError) {
  EXPECT_THAT(invalid_message([] { task_from_json(Json("a"), "a"); }),
              HasSubstr("must be a JSON object"));
  EXPECT_THAT(invalid_message([] { task_from_json(Json::array()); }),
              HasSubstr("must be a JSON object"));
  EXPECT_THAT(invalid_message([] { task_from_json(Json(nullptr), "x"); }), HasSubstr("'x'"));
}

struct WrongType {
  const char* field;
  const char* value;    // JSON text
  const char* problem;  // expected in the message
};

TEST(TaskCodec, WrongTypesNameTaskAndField) {
  const WrongType cases[] = {
      {"description", "5", "must be a string"},
      {"description", "[\"x\"]", "must be a string"},
      {"status", "1", "must be a string"},
      {"status", "true", "must be a string"},
      {"dependencies", "\"b\"", "must be a list of strings"},
      {"dependencies", "{\"b\": 1}", "must be a list of strings"},
      {"dependencies", "[\"b\", 2]", "must be a list of strings"},
      {"dependencies", "[null]", "must be a list of strings"},
      {"started_at", "5", "must be a string"},
      {"started_at", "\"yesterday\"", "is not an ISO-8601 date-time"},
      {"completed_at", "1.5", "must be a string"},
      {"completed_at", "\"2023-13-01T00:00:00\"", "is not an ISO-8601 date-time"},
      {"claimed_by", "7", "must be a string"},
      {"claimed_by", "{}", "must be a string"},
      {"timeout_seconds", "\"600\"", "must be a whole number"},
      {"timeout_seconds", "true", "must be a whole number"},
      {"timeout_seconds", "1.5", "must be a whole number"},
      {"timeout_seconds", "[1]", "must be a whole number"},
      {"timeout_seconds", "1e300", "must be a whole number"},
      {"timeout_seconds", "-1e300", "must be a whole number"},
      {"instructions", "1", "must be a string"},
      {"instructions", "[\"x\"]", "must be a string"},
      {"command", "\"make\"", "must be a list of strings"},
      {"command", "[\"make\", 1]", "must be a list of strings"},
      {"command", "[]", "must not be empty"},
  };
  for (const WrongType& c : cases) {
    const std::string text = std::string(R"({"id": "t1", ")") + c.field + "\": " + c.value + "}";
    std::string m = invalid_message([&] { task_from_json(parse_json(text)); });
    EXPECT_THAT(m, HasSubstr("task 't1'")) << text;
    EXPECT_THAT(m, HasSubstr(std::string("'") + c.field + "'")) << text;
    EXPECT_THAT(m, HasSubstr(c.problem)) << text;
  }
}

TEST(TaskCodec, DependenciesMessageMatchesContract) {
  EXPECT_EQ(invalid_message([] { task_from_json(parse_json(R"({"dependencies": 3})"), "a"); }),
            "task 'a': 'dependencies' must be a list of strings");
}

TEST(TaskCodec, BadStatusIsAnError) {
  std::string m =
      invalid_message([] { task_from_json(parse_json(R"({"id": "a", "status": "done"})")); });
  EXPECT_THAT(m, HasSubstr("task 'a'"));
  EXPECT_THAT(m, HasSubstr("'status'"));
  EXPECT_THAT(m, HasSubstr("done"));
}

TEST(TaskCodec, EveryStatusParses) {
  EXPECT_EQ(task_from_json(parse_json(R"({"status": "pending"})"), "a").status,
            TaskStatus::kPending);
  EXPECT_EQ(task_from_json(parse_json(R"({"status": "running"})"), "a").status,
            TaskStatus::kRunning);
  EXPECT_EQ(task_from_json(parse_json(R"({"status": "completed"})"), "a").status,
            TaskStatus::kCompleted);
  EXPECT_EQ(task_from_json(parse_json(R"({"status": "failed"})"), "a").status, TaskStatus::kFailed);
}

TEST(TaskCodec, NonPositiveTimeoutIsAnError) {
  for (const char* v : {"0", "-1", "-600", "0.0", "-5.0"}) {
    std::string m = invalid_message(
        [&] { task_from_json(parse_json(std::string(R"({"timeout_seconds": )") + v + "}"), "a"); });
    EXPECT_THAT(m, HasSubstr("task 'a'")) << v;
    EXPECT_THAT(m, HasSubstr("'timeout_seconds' must be positive")) << v;
  }
}

TEST(TaskCodec, WholeNumberFloatTimeoutAccepted) {
  EXPECT_EQ(task_from_json(parse_json(R"({"timeout_seconds": 30.0})"), "a").timeout_seconds, 30);
  EXPECT_EQ(task_from_json(parse_json(R"({"timeout_seconds": 1e3})"), "a").timeout_seconds, 1000);
  EXPECT_EQ(task_from_json(parse_json(R"({"timeout_seconds": 1})"), "a").timeout_seconds, 1);
}

TEST(TaskCodec, AcceptsPythonTimestampForms) {
  Task t = task_from_json(
      parse_json(
          R"({"started_at": "2023-11-14T22:13:20", "completed_at": "2023-11-14T22:13:20.5Z"})"),
      "a");
  EXPECT_EQ(t.started_at, 1'700'000'000'000'000);
  EXPECT_EQ(t.completed_at, 1'700'000'000'500'000);
}

Workflow three_tasks() {
  Workflow w;
  for (const char* id : {"zeta", "alpha", "mid"}) {
    Task t;
    t.id = id;
    w.tasks.push_back(t);
  }
  w.tasks[1].dependencies = {"zeta"};
  w.tasks[2].dependencies = {"alpha", "zeta"};
  w.tasks[2].command = std::vector<std::string>{"true"};
  return w;
}

std::vector<std::string> ids(const Workflow& w) {
  std::vector<std::string> out;
  for (const Task& t : w.tasks) out.push_back(t.id);
  return out;
}

TEST(WorkflowCodec, ToJsonIsAMapInPlanOrder) {
  Json j = workflow_to_json(three_tasks());
  ASSERT_TRUE(j.at("tasks").is_object());
  std::vector<std::string> keys;
  for (const auto& item : j.at("tasks").items()) keys.push_back(item.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"zeta", "alpha", "mid"}));
  EXPECT_LT(j.dump().find("\"zeta\":"), j.dump().find("\"alpha\":"));
}

TEST(WorkflowCodec, RoundTrips) {
  Workflow w = three_tasks();
  EXPECT_EQ(workflow_from_json(workflow_to_json(w)), w);
  EXPECT_EQ(workflow_from_json(parse_json(workflow_to_json(w).dump())), w);
  w.goal = "Ship it";
  EXPECT_EQ(workflow_to_json(w).at("goal"), "Ship it");
  EXPECT_EQ(workflow_from_json(parse_json(workflow_to_json(w).dump())), w);
}

TEST(WorkflowCodec, AcceptsTasksMap) {
  Workflow w = workflow_from_json(
      parse_json(R"({"tasks": {"z": {"description": "last"}, "a": {"dependencies": ["z"]}}})"));
  EXPECT_EQ(ids(w), (std::vector<std::string>{"z", "a"}));
  EXPECT_EQ(w.tasks[0].description, "last");
  EXPECT_EQ(w.tasks[1].dependencies, std::vector<std::string>{"z"});
}

TEST(WorkflowCodec, AcceptsTasksList) {
  Workflow w = workflow_from_json(parse_json(R"({"tasks": [{"id": "z"}, {"id": "a"}]})"));
  EXPECT_EQ(ids(w), (std::vector<std::string>{"z", "a"}));
}

TEST(WorkflowCodec, AcceptsBareMap) {
  Workflow w = workflow_from_json(parse_json(R"({"z": {}, "b": {}, "a": {"id": "a"}})"));
  EXPECT_EQ(ids(w), (std::vector<std::string>{"z", "b", "a"}));
}

TEST(WorkflowCodec, AcceptsBareList) {
  Workflow w = workflow_from_json(parse_json(R"([{"id": "z"}, {"id": "b"}, {"id": "a"}])"));
  EXPECT_EQ(ids(w), (std::vector<std::string>{"z", "b", "a"}));
}

TEST(WorkflowCodec, AcceptsEmpty) {
  EXPECT_TRUE(workflow_from_json(parse_json(R"({"tasks": {}})")).tasks.empty());
  EXPECT_TRUE(workflow_from_json(parse_json(R"({"tasks": []})")).tasks.empty());
  EXPECT_TRUE(workflow_from_json(parse_json("[]")).tasks.empty());
}

TEST(WorkflowCodec, PreservesOrderOfManyTasks) {
  std::string text = "{\"tasks\": {";
  std::vector<std::string> expected;
  for (int i = 0; i < 1000; ++i) {
    // Reverse-ish order so that sorting would be detected.
    std::string id = "t" + std::to_string((i * 7919) % 1000);
    expected.push_back(id);
    if (i) text += ", ";
    text += "\"" + id + "\": {}";
  }
  text += "}}";
  EXPECT_EQ(ids(workflow_from_json(parse_json(text))), expected);
}

TEST(WorkflowCodec, RejectsNonCollections) {
  for (const char* bad :
       {R"({"tasks": 5})", R"({"tasks": "a"})", R"({"tasks": null})", "5", "\"x\"", "null"}) {
    EXPECT_THAT(invalid_message([&] { workflow_from_json(parse_json(bad)); }),
                HasSubstr("'tasks' must be"))
        << bad;
  }
}

TEST(WorkflowCodec, ListEntryWithoutIdIsAnError) {
  EXPECT_THAT(invalid_message([] { workflow_from_json(parse_json(R"([{"id": "a"}, {}])")); }),
              HasSubstr("no 'id'"));
}

TEST(WorkflowCodec, MapKeyMismatchIsAnError) {
  EXPECT_THAT(invalid_message([] { workflow_from_json(parse_json(R"({"a": {"id": "b"}})")); }),
              HasSubstr("listed under 'a'"));
}

TEST(WorkflowCodec, BadTaskInsideWorkflowNamesIt) {
  EXPECT_EQ(
      invalid_message([] {
        workflow_from_json(parse_json(R"({"tasks": {"ok": {}, "bad": {"dependencies": 1}}})"));
      }),
      "task 'bad': 'dependencies' must be a list of strings");
}

TEST(WorkflowCodec, DoesNotValidateTheGraph) {
  Workflow w = workflow_from_json(parse_json(R"([{"id": "a", "dependencies": ["ghost", "a"]}])"));
  EXPECT_EQ(w.tasks[0].dependencies, (std::vector<std::string>{"ghost", "a"}));
}

}  // namespace
}  // namespace harness
