// Every command's success and error path through Service::handle, in-process, with stand-ins
// for what the service is given (Service::Collaborators): a store that answers what a test
// sets and fails when told to, an event sink that records, a manual clock and a command runner
// that runs nothing. What the real store and socket do is tested beside them and in
// service_test.cc; here each handler is held to its typed response, its event and its errors.
#include <gtest/gtest.h>

#include <condition_variable>
#include <fstream>
#include <mutex>
#include <optional>

#include "core/error.h"
#include "log/event_sink.h"
#include "server/service.h"
#include "store/batching_store.h"
#include "testing/temp_dir.h"

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

using namespace std::chrono_literals;

// A store whose answers a test sets: one workflow, one claim result, and an error that every
// operation throws while it is set. Records what it was asked to write.
class FakeStore : public BatchingStore {
 public:
  std::optional<Workflow> workflow;
  ClaimResult next_claim;
  std::optional<Error> failure;         // thrown by every domain operation while set
  std::optional<Error> commit_failure;  // returned by commit_batch while set
  std::optional<Error> sync_failure;    // thrown by sync while set
  struct Completion {
    std::string task_id, worker_id;
    Micros now;
    std::optional<std::string> commit;
  };
  std::vector<Completion> completions;
  std::vector<std::string> claims;                   // worker ids
  std::optional<VerificationCommands> verification;  // what complete() asks to run first
  // The other changes, as "kind task_id worker_id lease".
  std::vector<std::string> changes() {
    std::lock_guard lock(changes_mutex_);
    return changes_;
  }

  std::optional<Workflow> load() override {
    fail_if_told();
    return workflow;
  }
  std::optional<StatusCounts> status_counts() override {
    fail_if_told();
    if (!workflow) return std::nullopt;
    StatusCounts counts;
    for (const Task& t : workflow->tasks) counts.add(t.status);
    return counts;
  }
  void replace_workflow(const Workflow& w, ReplaceMode) override {
    fail_if_told();
    workflow = w;
  }
  ClaimResult claim(const std::string& worker_id, Micros, const ClaimFilter&,
                    const std::optional<std::string>&) override {
    fail_if_told();
    claims.push_back(worker_id);
    return next_claim;
  }
  std::optional<VerificationCommands> complete(const std::string& task_id, const Holder& holder,
                                               Micros now, const std::optional<std::string>& commit,
                                               const CompleteOptions& options) override {
    fail_if_told();
    if (options.verify && verification) return verification;
    completions.push_back({task_id, holder.worker_id, now, commit});
    return std::nullopt;
  }
  Micros heartbeat(const std::string& task_id, const Holder& holder, Micros now) override {
    record("heartbeat", task_id, holder);
    return now + 600 * kMicrosPerSecond;
  }
  void release(const std::string& task_id, const Holder& holder) override {
    record("release", task_id, holder);
  }
  FailResult fail(const std::string& task_id, const Holder& holder, const std::string&,
                  Micros now) override {
    record("fail", task_id, holder);
    return FailResult{1, TaskStatus::kPending, now + 5 * kMicrosPerSecond};
  }
  void retry(const std::string& task_id) override { record("retry", task_id, ""); }
  std::int64_t renew_leases(const std::string& worker_id, Micros) override {
    record("renew", "", worker_id);
    return 0;
  }
  void add_task(const Task& task) override { record("add", task.id, ""); }
  void reset() override { record("reset", "", ""); }
  std::optional<Micros> next_deadline() override { return std::nullopt; }
  std::optional<CompletionMark> completion_mark(const std::string&) override {
    return std::nullopt;
  }

  void begin_batch() override {}
  std::exception_ptr run_in_batch(const Mutation& mutation) override {
    try {
      mutation(*this);
      return nullptr;
    } catch (...) {
      return std::current_exception();
    }
  }
  std::exception_ptr commit_batch() override {
    return commit_failure ? std::make_exception_ptr(*commit_failure) : nullptr;
  }
  void sync() override {
    if (sync_failure) throw *sync_failure;
  }

 private:
  void fail_if_told() const {
    if (failure) throw *failure;
  }
  void record(const char* kind, const std::string& task_id, const Holder& holder) {
    fail_if_told();
    std::lock_guard lock(changes_mutex_);
    changes_.push_back(std::string(kind) + " " + task_id + " " + holder.worker_id + " " +
                       holder.lease.value_or("-"));
  }
  std::mutex changes_mutex_;
  std::vector<std::string> changes_;
};

class RecordingSink : public EventSink {
 public:
  void append(Json event) override { append_serialized(event.dump()); }
  void append_serialized(std::string text) override {
    std::lock_guard lock(mutex_);
    events_.push_back(parse_json(text));
  }
  std::vector<Json> events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }
  // The events other than the service's own start and stop.
  std::vector<Json> command_events() const {
    std::vector<Json> out;
    for (Json& e : events())
      if (e["event"] != "daemon_start" && e["event"] != "daemon_stop") out.push_back(e);
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Json> events_;
};

// One answer, waited for with a deadline.
class AnswerBox {
 public:
  void put(Answer answer) {
    std::lock_guard lock(mutex_);
    answers_.push_back(std::move(answer));
    arrived_.notify_all();
  }
  Answer take() {
    std::unique_lock lock(mutex_);
    if (!arrived_.wait_for(lock, 60s, [&] { return !answers_.empty(); }))
      throw std::runtime_error("no answer within 60 s");
    return answers_.front();
  }
  std::size_t count() {
    std::lock_guard lock(mutex_);
    return answers_.size();
  }

 private:
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::vector<Answer> answers_;
};

class ServiceCommandsTest : public ::testing::Test {
 protected:
  FakeStore writes, reads;
  RecordingSink events;
  ManualClock clock{Micros(1'700'000'000'000'000)};
  std::vector<CommandSpec> commands_run;
  std::mutex commands_mutex;
  CommandResult next_result;
  std::optional<Service> service;

  void SetUp() override {
    Service::Options options;
    options.worktree = "/work/tree";
    options.default_command_timeout = 600s;
    options.default_git_timeout = 120s;
    service.emplace(Service::Collaborators{writes, reads, events, clock,
                                           [this](const CommandSpec& spec, std::stop_token) {
                                             std::lock_guard lock(commands_mutex);
                                             commands_run.push_back(spec);
                                             return next_result;
                                           }},
                    options);
  }

  template <typename R>
  Answer answer_to(R request, std::stop_token cancelled = {}) {
    auto box = std::make_shared<AnswerBox>();
    service->handle(
        Request(std::move(request)), [box](Answer a) { box->put(std::move(a)); }, cancelled);
    Answer answer = box->take();
    EXPECT_EQ(box->count(), 1u);
    return answer;
  }

  // The response of a request expected to succeed.
  template <typename R>
  typename CommandFor<R>::Response response_to(R request) {
    using Response = typename CommandFor<R>::Response;
    Answer answer = answer_to(std::move(request));
    if (const auto* error = std::get_if<ErrorAnswer>(&answer))
      ADD_FAILURE() << "error answer: " << error->message;
    const auto* response = std::get_if<Response>(&answer);
    return response ? *response : Response{};
  }

  // The message of a request expected to fail.
  template <typename R>
  std::string error_of(R request, std::stop_token cancelled = {}) {
    Answer answer = answer_to(std::move(request), cancelled);
    const auto* error = std::get_if<ErrorAnswer>(&answer);
    if (!error) {
      ADD_FAILURE() << "answered without an error";
      return {};
    }
    return error->message;
  }
};

Workflow tasks(std::initializer_list<const char*> ids) {
  Workflow w;
  for (const char* id : ids) w.tasks.push_back(Task{.id = id});
  return w;
}

TEST_F(ServiceCommandsTest, PingSaysWhichWorktreeItServes) {
  const PingResponse ping = response_to(PingRequest{});
  EXPECT_EQ(ping.worktree, "/work/tree");
  EXPECT_EQ(ping.pid, ::getpid());
}

TEST_F(ServiceCommandsTest, GetStateReadsTheReadStore) {
  EXPECT_FALSE(response_to(GetStateRequest{}).workflow);
  reads.workflow = tasks({"a", "b"});
  EXPECT_EQ(response_to(GetStateRequest{}).workflow, reads.workflow);
  reads.failure = Error::io("disk on fire");
  EXPECT_EQ(error_of(GetStateRequest{}), "disk on fire");
}

TEST_F(ServiceCommandsTest, StatusCountsTasksAndCommands) {
  EXPECT_FALSE(response_to(StatusRequest{}).tasks);
  reads.workflow = tasks({"a", "b", "c"});
  reads.workflow->tasks[0].status = TaskStatus::kCompleted;
  const StatusResponse status = response_to(StatusRequest{});
  ASSERT_TRUE(status.tasks);
  EXPECT_EQ(status.tasks->completed, 1);
  EXPECT_EQ(status.tasks->pending, 2);
  EXPECT_EQ(status.tasks->total, 3);
  EXPECT_EQ(status.commands.max, 64u);
  reads.failure = Error::corruption("bad page");
  EXPECT_EQ(error_of(StatusRequest{}), "bad page");
}

TEST_F(ServiceCommandsTest, UpdateStateWritesAndAnswersWithTheWorkflow) {
  const Workflow w = tasks({"x"});
  EXPECT_EQ(response_to(UpdateStateRequest{w}).workflow, w);
  EXPECT_EQ(writes.workflow, w);
  ASSERT_EQ(events.command_events().size(), 1u);
  EXPECT_EQ(events.command_events()[0], (Json{{"event", "update_state"}, {"tasks", 1}}));

  writes.failure = Error::invalid("cycle: x -> x");
  EXPECT_EQ(error_of(UpdateStateRequest{w}), "cycle: x -> x");
  EXPECT_EQ(events.command_events().size(), 1u) << "no event for a refused change";
}

TEST_F(ServiceCommandsTest, PlanImportOfInlineTasksCountsThem) {
  EXPECT_EQ(response_to(PlanImportRequest{tasks({"a", "b"}), std::nullopt, false}).imported, 2u);
  EXPECT_EQ(events.command_events().back(), (Json{{"event", "plan_import"}, {"tasks", 2}}));
  writes.failure = Error::conflict("the workflow has unfinished tasks");
  EXPECT_EQ(error_of(PlanImportRequest{tasks({"c"}), std::nullopt, false}),
            "the workflow has unfinished tasks");
}

TEST_F(ServiceCommandsTest, PlanImportOfAFileNamesTheFileInItsErrors) {
  const std::string missing = "/nonexistent/plan.json";
  EXPECT_NE(error_of(PlanImportRequest{std::nullopt, missing, false}).find(missing),
            std::string::npos);
  std::stop_source gone;
  gone.request_stop();
  EXPECT_NE(error_of(PlanImportRequest{std::nullopt, missing, false}, gone.get_token())
                .find("cancelled: the client went away"),
            std::string::npos);
  EXPECT_FALSE(writes.workflow);
}

TEST_F(ServiceCommandsTest, PlanImportReadsAFileInTheFormatAndWithTheParallelFlagAsked) {
  test_support::TempDir dir("harness-service-plan");
  const std::string plan = (dir.path() / "plan.txt").string();
  std::ofstream(plan) << "## Task 1: A\n## Task 2: B\n";
  EXPECT_EQ(response_to(PlanImportRequest{std::nullopt, plan, false}).imported, 2u);
  ASSERT_TRUE(writes.workflow);
  EXPECT_EQ(writes.workflow->tasks[1].dependencies, std::vector<std::string>{"1"});
  EXPECT_EQ(response_to(PlanImportRequest{std::nullopt, plan, false, "markdown", true}).imported,
            2u);
  EXPECT_TRUE(writes.workflow->tasks[1].dependencies.empty());
  EXPECT_EQ(error_of(PlanImportRequest{std::nullopt, plan, false, "yaml"}),
            "unknown plan format 'yaml' (expected one of json, markdown, speckit, xml, taskmaster, "
            "beads)");
  EXPECT_NE(
      error_of(PlanImportRequest{std::nullopt, plan, false, "json"}).find("plan file " + plan),
      std::string::npos);
}

TEST_F(ServiceCommandsTest, ClaimAnswersWhatTheStoreClaimedAndLogsIt) {
  Task task{.id = "t1", .status = TaskStatus::kRunning, .claimed_by = "w1"};
  writes.next_claim = ClaimResult{.task = task, .is_reclaim = true};
  const ClaimResponse claim = response_to(ClaimRequest{"w1"});
  EXPECT_EQ(claim.task, task);
  EXPECT_TRUE(claim.is_reclaim);
  EXPECT_EQ(writes.claims, std::vector<std::string>{"w1"});
  ASSERT_EQ(events.command_events().size(), 1u);
  EXPECT_EQ(events.command_events()[0], (Json{{"event", "claim"},
                                              {"task_id", "t1"},
                                              {"worker_id", "w1"},
                                              {"is_retry", false},
                                              {"is_reclaim", true},
                                              {"attempt", 0}}));
}

TEST_F(ServiceCommandsTest, AClaimOfNothingSaysWhetherThePlanIsCompleteAndLogsNothing) {
  writes.next_claim = ClaimResult{.plan_complete = true};
  const ClaimResponse claim = response_to(ClaimRequest{"w1"});
  EXPECT_FALSE(claim.task);
  EXPECT_TRUE(claim.plan_complete);
  EXPECT_TRUE(events.command_events().empty());
  writes.failure = Error::io("database is locked");
  EXPECT_EQ(error_of(ClaimRequest{"w1"}), "database is locked");
}

TEST_F(ServiceCommandsTest, CompleteRecordsTheTimeAndCommit) {
  EXPECT_EQ(response_to(completion("t1", "w1", "abc")).task_id, "t1");
  ASSERT_EQ(writes.completions.size(), 1u);
  EXPECT_EQ(writes.completions[0].now, clock.now());
  EXPECT_EQ(writes.completions[0].commit, "abc");
  EXPECT_EQ(events.command_events().back(),
            (Json{{"event", "complete"}, {"task_id", "t1"}, {"worker_id", "w1"}}));
  writes.failure = Error::conflict("Task t1 is not claimed by w2");
  EXPECT_EQ(error_of(completion("t1", "w2", std::nullopt)), "Task t1 is not claimed by w2");
}

TEST_F(ServiceCommandsTest, AFailedCommitOrSyncFailsTheMutationsItCarried) {
  writes.commit_failure = Error::io("disk full");
  EXPECT_NE(error_of(completion("t1", "w1", std::nullopt)).find("disk full"), std::string::npos);
  writes.commit_failure.reset();
  writes.sync_failure = Error::io("fdatasync failed");
  EXPECT_NE(error_of(ClaimRequest{"w1"}).find("fdatasync failed"), std::string::npos);
  EXPECT_TRUE(events.command_events().empty()) << "nothing durable, nothing logged";
}

TEST_F(ServiceCommandsTest, ExecRunsWithTheDefaultsAndAnswersTheResultAsIs) {
  next_result.returncode = 3;
  next_result.stdout_text = "out";
  next_result.stderr_text = "err";
  next_result.stderr_truncated = true;
  ExecRequest exec;
  exec.args = {"make", "test"};
  exec.base64_output = true;
  const ExecResponse r = response_to(exec);
  EXPECT_EQ(r.returncode, 3);
  EXPECT_EQ(r.stdout_bytes, "out");
  EXPECT_EQ(r.stderr_bytes, "err");
  EXPECT_TRUE(r.truncated);
  EXPECT_TRUE(r.base64);
  ASSERT_EQ(commands_run.size(), 1u);
  EXPECT_EQ(commands_run[0].args, exec.args);
  EXPECT_EQ(commands_run[0].cwd, "/work/tree");
  EXPECT_EQ(commands_run[0].timeout, 600s);
  EXPECT_EQ(events.command_events().back()["event"], "exec");

  std::stop_source gone;
  gone.request_stop();
  const Answer cancelled = answer_to(exec, gone.get_token());
  EXPECT_NE(std::get<ExecResponse>(cancelled).stderr_bytes.find("cancelled"), std::string::npos);
  EXPECT_EQ(commands_run.size(), 1u) << "a cancelled command never starts";
}

TEST_F(ServiceCommandsTest, GitRunsGitAndRefusesWhatTheGuardRefuses) {
  GitRequest git;
  git.args = {"status"};
  git.timeout = 5s;
  EXPECT_EQ(response_to(git).returncode, 0);
  ASSERT_EQ(commands_run.size(), 1u);
  EXPECT_EQ(commands_run[0].args, (std::vector<std::string>{"git", "status"}));
  EXPECT_EQ(commands_run[0].timeout, 5s);

  git.args = {"-c", "core.fsmonitor=touch /tmp/pwned", "status"};
  EXPECT_NE(error_of(git).find("core.fsmonitor"), std::string::npos);
  EXPECT_EQ(commands_run.size(), 1u);
}

TEST_F(ServiceCommandsTest, ShutdownOnlyAnswers) {
  EXPECT_EQ(response_to(ShutdownRequest{}), ShutdownResponse{});
  EXPECT_EQ(response_to(PingRequest{}).worktree, "/work/tree") << "still serving";
}

TEST_F(ServiceCommandsTest, TheServiceRecordsItsStartAndStop) {
  service.reset();
  const std::vector<Json> all = events.events();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all.front()["event"], "daemon_start");
  EXPECT_EQ(all.back()["event"], "daemon_stop");
}

}  // namespace
}  // namespace harness
