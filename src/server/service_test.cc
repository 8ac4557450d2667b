// The whole service in-process — parse, dispatch, store, reply — driven with a table of hostile
// requests: every field of every command missing, mistyped, carrying a NUL or invalid UTF-8;
// every kind of bad plan file. Each request must get exactly one reply, valid JSON with status
// ok or error (an error naming the problem), and a valid request after it must still succeed.
// Also: destroying the service with work in flight, and cancellation by the caller.
#include "server/service.h"

#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <fstream>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "core/error.h"
#include "log/trajectory_writer.h"
#include "protocol/envelope.h"
#include "protocol/reply_encoder.h"
#include "protocol/request_codec.h"
#include "store/open_store.h"
#include "store/state_dir.h"
#include "testing/pg_test_cluster.h"
#include "testing/store_engines.h"
#include "testing/temp_dir.h"

namespace harness {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// The replies one request got, from whichever thread gave them.
struct Replies {
  std::mutex mutex;
  std::condition_variable arrived;
  std::vector<std::string> lines;

  std::optional<std::string> first(std::chrono::seconds deadline) {
    std::unique_lock lock(mutex);
    if (!arrived.wait_for(lock, deadline, [&] { return !lines.empty(); })) return std::nullopt;
    return lines.front();
  }
};

// The service as the daemon runs it, on the store of `location()`.
class ServiceFixture : public ::testing::Test {
 protected:
  // Unset: the worktree's own SQLite database.
  virtual std::optional<StoreLocation> location() const { return std::nullopt; }

  test_support::TempDir dir{"harness-service"};
  fs::path worktree = dir.path() / "w";
  // The service's collaborators, as the daemon opens them.
  OpenedStore writes, reads;
  std::unique_ptr<TrajectoryWriter> trajectory;
  std::unique_ptr<Service> service;
  std::vector<std::shared_ptr<Replies>> sent;

  void SetUp() override {
    fs::create_directories(worktree);
    writes = open_store({worktree, StoreConfig::Use::kDaemon, location()});
    reads = open_store({worktree, StoreConfig::Use::kRead, location()});
    trajectory = std::make_unique<TrajectoryWriter>(trajectory_path(worktree));
    Service::Options options;
    options.worktree = worktree;
    options.default_command_timeout = 30s;
    options.max_commands = 2;
    service = std::make_unique<Service>(
        Service::Collaborators{*writes.store, *reads.store, *trajectory, SystemClock::instance()},
        options);
  }

  // Every request got exactly one reply, also those answered while the service stopped.
  void TearDown() override {
    service.reset();
    for (const auto& r : sent) {
      std::lock_guard lock(r->mutex);
      EXPECT_EQ(r->lines.size(), 1u) << (r->lines.empty() ? "no reply" : r->lines.front());
    }
  }

  // Hands `line` to the service as a session does; returns its reply without waiting for it.
  std::shared_ptr<Replies> start(std::string_view line, std::stop_token cancelled = {}) {
    auto replies = std::make_shared<Replies>();
    sent.push_back(replies);
    Request request;
    try {
      request = parse_request(line);
    } catch (const Error& e) {
      replies->lines.push_back(error_reply(e.what()));
      return replies;
    }
    service->handle(
        std::move(request),
        [replies](Answer answer) {
          std::string reply = encode_answer(answer);
          std::lock_guard lock(replies->mutex);
          replies->lines.push_back(std::move(reply));
          replies->arrived.notify_all();
        },
        cancelled);
    return replies;
  }

  // The parsed reply to `line`, checked to be one line of JSON with status ok or error.
  Json call(std::string_view line, std::stop_token cancelled = {}) {
    const std::optional<std::string> reply = start(line, cancelled)->first(60s);
    if (!reply) {
      ADD_FAILURE() << "no reply to " << line;
      return Json{{"status", "none"}};
    }
    EXPECT_EQ(reply->find('\n'), std::string::npos) << *reply;
    Json j;
    try {
      j = parse_json(*reply);
    } catch (const Error& e) {
      ADD_FAILURE() << "reply is not JSON: " << *reply;
      return Json{{"status", "none"}};
    }
    const std::string status = j.value("status", "");
    EXPECT_TRUE(status == "ok" || status == "error") << line << " -> " << *reply;
    if (status == "error") {
      EXPECT_FALSE(j.value("message", "").empty()) << line << " -> " << *reply;
    }
    return j;
  }

  void expect_error(std::string_view line, const std::string& part) {
    const Json j = call(line);
    EXPECT_EQ(j.value("status", ""), "error") << line << " -> " << j.dump();
    EXPECT_NE(j.value("message", "").find(part), std::string::npos)
        << line << " -> " << j.dump() << " (expected '" << part << "')";
  }

  void expect_still_serving() {
    EXPECT_EQ(call(R"({"command":"ping"})")["status"], "ok");
    EXPECT_EQ(call(R"({"command":"task_claim","worker_id":"probe"})")["status"], "ok");
  }

  fs::path write(const std::string& name, const std::string& content) {
    const fs::path file = dir.path() / name;
    std::ofstream(file, std::ios::binary) << content;
    return file;
  }

  static std::string import_line(const fs::path& file) {
    return Json{{"command", "plan_import"}, {"file", file.string()}, {"force", true}}.dump();
  }
};

// The service's semantics on each store engine (tests/testing/store_engines.h).
class ServiceTest : public ServiceFixture, public ::testing::WithParamInterface<std::string> {
 protected:
  std::optional<StoreLocation> location() const override {
    if (GetParam() != "postgresql") return std::nullopt;
    return StoreLocation{StoreLocation::Engine::kPostgres, test_support::test_pg_url(), plan_};
  }

 private:
  std::string plan_ = test_support::unique_plan_name();
};

// Sizes the SQLite engine is held to (the PostgreSQL engine's are in docs/performance.md).
using LargePlanServiceTest = ServiceFixture;

// ---- every field of every command ----------------------------------------------------------

// Valid requests, one per command, whose fields the table mutates. exec and git run only
// harmless programs (`true`, `git --version`) whatever is mutated.
const std::vector<Json>& templates() {
  static const std::vector<Json> all = {
      Json{{"command", "ping"}},
      Json{{"command", "get_state"}},
      Json{{"command", "status"}},
      Json{{"command", "update_state"},
           {"updates", {{"tasks", {{"a", {{"id", "a"}, {"description", "d"}}}}}}}},
      Json{{"command", "plan_import"}, {"tasks", Json::array({{{"id", "b"}}})}, {"force", true}},
      Json{{"command", "plan_import"}, {"file", "/dev/null"}},
      Json{{"command", "task_claim"}, {"worker_id", "w"}},
      Json{{"command", "task_complete"}, {"task_id", "a"}, {"worker_id", "w"}, {"commit", "c"}},
      Json{{"command", "exec"},
           {"args", {"true"}},
           {"cwd", "/"},
           {"env", {{"A", "1"}}},
           {"timeout", 10},
           {"exclusive", false}},
      Json{{"command", "git"}, {"args", {"--version"}}, {"cwd", "/"}, {"timeout", 10}},
  };
  return all;
}

// What each field is replaced with: nothing, every JSON type, and strings with a NUL and with
// invalid UTF-8.
std::vector<std::pair<std::string, std::optional<std::string>>> mutations() {
  return {{"missing", std::nullopt},
          {"null", "null"},
          {"number", "5"},
          {"fraction", "30.5"},
          {"negative", "-1"},
          {"bool", "true"},
          {"empty string", R"("")"},
          {"string", R"("x")"},
          {"string with NUL", R"("a\u0000b")"},
          {"invalid UTF-8",
           "\"a\xff\xfe"
           "b\""},
          {"empty list", "[]"},
          {"list with NUL", R"(["printf","a\u0000b"])"},
          {"list of numbers", "[1,2]"},
          {"object", "{}"},
          {"object with NUL", R"({"A\u0000B":"1","C":"x\u0000"})"}};
}

// The request line of `request` with `field` replaced by the raw JSON `value` (or removed).
std::string mutated(const Json& request, const std::string& field,
                    const std::optional<std::string>& value) {
  Json rest = request;
  rest.erase(field);
  std::string line = rest.dump();
  if (!value) return line;
  line.pop_back();  // '}'
  if (rest.size() > 0) line += ',';
  return line + '"' + field + "\":" + *value + '}';
}

TEST_P(ServiceTest, EveryFieldOfEveryCommandMutatedGetsOneReplyAndTheServiceStaysUp) {
  int cases = 0;
  for (const Json& request : templates()) {
    for (const auto& [field, ignored] : request.items()) {
      for (const auto& [what, value] : mutations()) {
        SCOPED_TRACE(request.dump() + ": '" + field + "' " + what);
        const std::string line = mutated(request, field, value);
        const Json reply = call(line);
        ++cases;
        // A NUL in anything the OS gets is refused before anything runs.
        const bool nul_for_os = (field == "args" && what == "list with NUL") ||
                                (field == "env" && what == "object with NUL") ||
                                ((field == "cwd" || field == "file") && what == "string with NUL");
        if (nul_for_os) {
          EXPECT_NE(reply.value("message", "").find("NUL"), std::string::npos) << reply.dump();
        }
        if (what == "invalid UTF-8") {
          EXPECT_EQ(reply["status"], "error");
        }
      }
    }
    expect_still_serving();
  }
  EXPECT_GT(cases, 300);
}

TEST_P(ServiceTest, ANulInAnyExecOrGitStringIsRefusedNamingTheField) {
  expect_error(R"({"command":"exec","args":["printf","a\u0000b"]})",
               "'args' must not contain a NUL");
  expect_error(R"({"command":"exec","args":["true"],"env":{"A\u0000":"1"}})",
               "'env' must not contain a NUL");
  expect_error(R"({"command":"exec","args":["true"],"env":{"A":"1\u0000"}})",
               "'env' must not contain a NUL");
  expect_error(R"({"command":"exec","args":["true"],"cwd":"/tmp\u0000/x"})",
               "'cwd' must not contain a NUL");
  expect_error(R"({"command":"git","args":["status","\u0000"]})", "'args' must not contain a NUL");
  expect_error(R"({"command":"plan_import","file":"/tmp/a\u0000b"})",
               "'file' must not contain a NUL");
  expect_still_serving();
}

// ---- plan files ----------------------------------------------------------------------------

TEST_P(ServiceTest, EveryBadPlanFileGetsAnErrorNamingTheFileAndTheServiceStaysUp) {
  ASSERT_EQ(call(import_line(write("good.json", R"({"tasks":{"keep":{"id":"keep"}}})")))["status"],
            "ok");
  const fs::path fifo = dir.path() / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const fs::path link_to_fifo = dir.path() / "link";
  fs::create_symlink(fifo, link_to_fifo);
  fs::create_directories(dir.path() / "dir");

  struct BadFile {
    fs::path file;
    std::string problem;
  };
  const std::vector<BadFile> cases = {
      {write("not_json.json", "not json"), "invalid JSON"},
      {dir.path() / "missing.json", "No such file"},
      {dir.path() / "dir", "is a directory"},
      {"/dev/null", "character device"},
      {"/dev/zero", "character device"},
      {fifo, "is a FIFO"},
      {link_to_fifo, "is a FIFO"},
      {write("empty.json", ""), "empty"},
      {write("tasks_5.json", R"({"tasks": 5})"), "tasks"},
      {write("dup.json", R"({"tasks":{"a":{"id":"a"},"a":{"id":"a"}}})"), "duplicate key"},
      {write("mismatch.json", R"({"tasks":{"a":{"id":"b"}}})"), "b"},
      {write("empty_id.json", R"([{"id":""}])"), "id"},
      {write("status.json", R"([{"id":"a","status":"bogus"}])"), "bogus"},
      {write("timeout0.json", R"([{"id":"a","timeout_seconds":0}])"), "timeout_seconds"},
      {write("timeout_frac.json", R"([{"id":"a","timeout_seconds":30.5}])"), "timeout_seconds"},
      {write("cmd_empty.json", R"([{"id":"a","command":[]}])"), "command"},
      {write("cmd_string.json", R"([{"id":"a","command":"ls"}])"), "command"},
      {write("cycle.json", R"([{"id":"a","dependencies":["a"]}])"), "Cycle"},
      {write("missing_dep.json", R"([{"id":"a","dependencies":["ghost"]}])"), "ghost"},
      {write("nul.json", std::string("[{\"id\":\"a\"}]\0", 13)), "plan file"},
  };
  for (const BadFile& c : cases) {
    SCOPED_TRACE(c.file.string());
    const Json reply = call(import_line(c.file));
    EXPECT_EQ(reply["status"], "error");
    const std::string message = reply.value("message", "");
    EXPECT_NE(message.find(c.file.string()), std::string::npos) << message;
    EXPECT_NE(message.find(c.problem), std::string::npos) << message;
    expect_still_serving();
  }
  // None of them changed the plan; a good import still works after them.
  const Json state = call(R"({"command":"get_state"})");
  EXPECT_TRUE(state["data"]["tasks"].contains("keep")) << state.dump();
  EXPECT_EQ(call(import_line(write("good2.json", R"([{"id":"x"}])")))["data"]["imported"], 1);
}

// The size cap leaves room for real plans: 100,000 tasks, each depending on the one before.
TEST_F(LargePlanServiceTest, APlanOfAHundredThousandTasksImportsFromAFile) {
  Json tasks = Json::array();
  for (int i = 0; i < 100'000; ++i) {
    Json task{{"id", "t" + std::to_string(i)}, {"description", "a task of a large plan"}};
    if (i > 0) task["dependencies"] = Json::array({"t" + std::to_string(i - 1)});
    tasks.push_back(std::move(task));
  }
  EXPECT_EQ(call(import_line(write("large.json", tasks.dump())))["data"]["imported"], 100'000);
}

TEST_P(ServiceTest, AFileImportWhoseCallerWentAwayIsNotCarriedOut) {
  std::stop_source gone;
  gone.request_stop();
  const fs::path plan = write("plan.json", R"([{"id":"never"}])");
  const Json reply = call(import_line(plan), gone.get_token());
  EXPECT_EQ(reply["status"], "error");
  EXPECT_NE(reply.value("message", "").find("cancelled"), std::string::npos) << reply.dump();
  EXPECT_EQ(call(R"({"command":"get_state"})")["data"], nullptr);
}

// ---- shutdown ------------------------------------------------------------------------------

// Destroying the service while an import is in flight answered it and freed nothing still in use
// (under ASan this was a heap-use-after-free: the committer's callback posted to the reader
// executor after the reader was destroyed).
TEST_P(ServiceTest, DestroyingTheServiceWithImportsInFlightAnswersEachOfThem) {
  Json tasks = Json::array();
  for (int i = 0; i < 2000; ++i) tasks.push_back(Json{{"id", "t" + std::to_string(i)}});
  const fs::path plan = write("plan.json", tasks.dump());
  std::vector<std::shared_ptr<Replies>> imports;
  for (int i = 0; i < 3; ++i) imports.push_back(start(import_line(plan)));
  imports.push_back(
      start(Json{{"command", "plan_import"}, {"tasks", tasks}, {"force", true}}.dump()));
  imports.push_back(start(R"({"command":"get_state"})"));
  service.reset();
  for (const auto& r : imports) {
    std::lock_guard lock(r->mutex);
    ASSERT_EQ(r->lines.size(), 1u);
    const Json j = parse_json(r->lines.front());
    EXPECT_TRUE(j["status"] == "ok" ||
                j.value("message", "").find("shutting down") != std::string::npos)
        << r->lines.front();
  }
}

// ---- commands ------------------------------------------------------------------------------

TEST_P(ServiceTest, StatusReportsRunningAndQueuedCommands) {
  ASSERT_EQ(call(import_line(write("p.json", R"([{"id":"a"}])")))["status"], "ok");
  std::stop_source first, second, third;
  const auto sleeper = [&](const std::string& marker) {
    return Json{
        {"command", "exec"},
        {"args", {"sh", "-c", "touch '" + (dir.path() / marker).string() + "'; exec sleep 30"}}}
        .dump();
  };
  auto a = start(sleeper("a"), first.get_token());
  auto b = start(sleeper("b"), second.get_token());
  auto c = start(sleeper("c"), third.get_token());
  const Json commands = call(R"({"command":"status"})")["data"]["commands"];
  EXPECT_EQ(commands, (Json{{"running", 2}, {"queued", 1}, {"max", 2}})) << commands.dump();
  // The third was queued: cancelling it means it never runs; the others are killed.
  third.request_stop();
  EXPECT_EQ(call(R"({"command":"status"})")["data"]["commands"]["queued"], 0);
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!(fs::exists(dir.path() / "a") && fs::exists(dir.path() / "b")) &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);  // polling for the files the commands create
  first.request_stop();
  second.request_stop();
  for (const auto& r : {a, b}) {
    const Json j = parse_json(r->first(30s).value_or("{}"));
    EXPECT_EQ(j["data"]["signal_name"], "SIGTERM") << j.dump();
  }
  const Json queued = parse_json(c->first(30s).value_or("{}"));
  EXPECT_EQ(queued["data"]["returncode"], 127) << queued.dump();
  EXPECT_NE(queued["data"].value("stderr", "").find("cancelled"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir.path() / "c"));
}

INSTANTIATE_TEST_SUITE_P(Engines, ServiceTest, test_support::all_store_engines(),
                         test_support::engine_name);

}  // namespace
}  // namespace harness
