#include "server/service.h"

#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <type_traits>

#include "core/error.h"
#include "exec/git_guard.h"
#include "log/exec_event.h"
#include "plan/plan_format.h"
#include "protocol/reply_encoder.h"
#include "server/claim_waiters.h"
#include "server/command_pool.h"
#include "server/group_commit.h"
#include "server/serial_executor.h"

namespace harness {

namespace {

std::string describe(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown error";
  }
}

Json command_event(std::string_view kind, const CommandSpec& spec, const CommandResult& r) {
  Json event{{"event", kind}, {"args", spec.args}, {"cwd", spec.cwd}, {"returncode", r.returncode}};
  if (r.signal_name) event["signal_name"] = *r.signal_name;
  event["timed_out"] = r.timed_out;
  event["duration_ms"] = r.duration_ms;
  event["stdout"] = clip_for_log(r.stdout_text);
  event["stderr"] = clip_for_log(r.stderr_text);
  return event;
}

}  // namespace

struct Service::Impl {
  Options options;
  Store* reader_store;
  EventSink& trajectory;
  const Clock& time_source;  // Collaborators::clock
  // Stopped by shutdown() in the order their callbacks need (see ~Service), before any of them
  // is destroyed: member order alone got it wrong (the reader went before the committer).
  GroupCommitter committer;
  SerialExecutor reader;
  // Reads and parses plan files, so that a large one delays neither the I/O thread nor reads.
  SerialExecutor importer;
  CommandPool commands;
  ClaimWaiters waiters;
  std::atomic<bool> stopping{false};

  Impl(Collaborators c, Options o)
      : options(std::move(o)),
        reader_store(&c.reads),
        trajectory(c.events),
        time_source(c.clock),
        committer(c.writes),
        commands(options.max_commands, std::move(c.run_command)),
        waiters(c.clock, [this](ClaimWaiters::Waiter w, bool woken) {
          attempt_waiting_claim(std::move(w), woken);
        }) {}

  // ~Service's sequence. The committer's callbacks post to the reader (release_free_memory) and
  // imports hand plans to the committer: each stops only once nothing before it can use it.
  void shutdown() {
    stopping = true;
    waiters.stop();
    importer.stop();
    committer.stop();
    reader.stop();
    commands.shutdown();
  }

  void log(Json event) { trajectory.append(std::move(event)); }
  void log_serialized(std::string event) { trajectory.append_serialized(std::move(event)); }

  // A claim or a complete runs on the I/O thread that read it; an import, on the writer thread
  // (GroupCommitter::run_here and submit).
  enum class Length { kShort, kLong };

  // Runs a mutation; on success logs the event whose object text `event(response)` writes, if it
  // writes one, and replies with the response. `run(store)` makes one Store call, a write, and
  // returns the response (GroupCommitter::Mutation). The two are template parameters, not
  // std::functions: on the hot path each std::function wrapper and copy is a heap allocation.
  template <typename Response, typename Run, typename Event>
  void mutate(Length length, Run run, Event event, Responder<Response> respond) {
    auto result = std::make_shared<Response>();
    GroupCommitter::Mutation mutation = [run = std::move(run), result](Store& store) {
      *result = run(store);
    };
    // Runs where the change is durable (the syncer thread): the reply is encoded there, never
    // holding up the thread that runs the next mutations.
    GroupCommitter::Done done = [this, result, event = std::move(event),
                                 respond = std::move(respond)](std::exception_ptr error) {
      if (error) return respond.fail(describe(error));
      std::string e = event(*result);
      if (!e.empty()) log_serialized(std::move(e));
      respond(std::move(*result));
    };
    if (length == Length::kShort) return committer.run_here(std::move(mutation), std::move(done));
    committer.submit(std::move(mutation), std::move(done));
  }

  void on(const PingRequest&, Responder<PingResponse> respond) {
    respond(PingResponse{::getpid(), options.worktree.string(), options.store});
  }

  // Replies to a read once what it saw is durable: a change is visible as soon as its batch
  // commits, a moment before the sync that lets its own reply go. The reply is encoded back on
  // the reader thread, not on the syncer, which a large workflow would hold up.
  template <typename Response>
  void reply_when_durable(Response response, Responder<Response> respond) {
    committer.when_durable([this, response = std::move(response),
                            respond = std::move(respond)](std::exception_ptr error) mutable {
      if (error) return respond.fail(describe(error));
      reader.post([response = std::move(response), respond = std::move(respond)]() mutable {
        respond(std::move(response));
      });
    });
  }

  // Runs `read` on the reader thread and replies with what it returns once that is durable.
  template <typename Response, typename Read>
  void read(Read read, Responder<Response> respond) {
    reader.post([this, read = std::move(read), respond = std::move(respond)]() mutable {
      std::optional<Response> response;
      try {
        response = read();
      } catch (const std::exception& e) {
        return respond.fail(e.what());
      }
      reply_when_durable(std::move(*response), std::move(respond));
    });
  }

  void on(const GetStateRequest&, Responder<GetStateResponse> respond) {
    read([this] { return GetStateResponse{reader_store->load()}; }, std::move(respond));
    release_free_memory();
  }

  // A whole workflow in memory (a JSON document, then Task objects) is large; once freed, glibc
  // keeps those pages. Handing them back keeps the daemon small between bulk
  // operations.
  void release_free_memory() {
    reader.post([] { ::malloc_trim(0); });
  }

  StatusResponse status() {
    StatusResponse r;
    const std::optional<StatusCounts> counts = reader_store->status_counts();
    if (!counts) return r;
    r.tasks = StatusResponse::Tasks{counts->pending, counts->running, counts->completed,
                                    counts->failed, counts->total()};
    const GroupCommitter::Stats commits = committer.stats();
    r.commits = {commits.batches, commits.mutations, commits.syncs};
    const CommandPool::Counts running = commands.counts();
    r.commands = {running.running, running.queued, running.max_running};
    r.waiting_claims = waiters.waiting();
    return r;
  }

  void on(const StatusRequest&, Responder<StatusResponse> respond) {
    read([this] { return status(); }, std::move(respond));
  }

  // Replaces the workflow and answers with make_response(workflow), logging the event `command`
  // (the command's wire name).
  // `file`, when the workflow came from one, is named in the error if the store refuses it.
  template <typename Response, typename MakeResponse>
  void replace(std::string_view command, std::shared_ptr<const Workflow> workflow, ReplaceMode mode,
               MakeResponse make_response, Responder<Response> respond, std::string file = {}) {
    mutate(
        Length::kLong,
        [workflow, mode, make_response, file = std::move(file)](Store& store) {
          try {
            store.replace_workflow(*workflow, mode);
          } catch (const Error& e) {
            if (file.empty()) throw;
            throw Error(e.kind(), "plan file " + file + ": " + e.what());
          }
          return make_response(*workflow);
        },
        [this, command, workflow](const Response&) {
          release_free_memory();
          return Json{{"event", command}, {"tasks", workflow->tasks.size()}}.dump();
        },
        std::move(respond));
  }

  void on(UpdateStateRequest&& r, Responder<UpdateStateResponse> respond) {
    replace(
        command_name_of<UpdateStateRequest>,
        std::make_shared<const Workflow>(std::move(r.workflow)), ReplaceMode::kAlways,
        [](const Workflow& w) { return UpdateStateResponse{w}; }, std::move(respond));
  }

  static PlanImportResponse imported(const Workflow& w) { return {w.tasks.size()}; }

  void on(PlanImportRequest&& r, Responder<PlanImportResponse> respond, std::stop_token cancelled) {
    const ReplaceMode mode = r.force ? ReplaceMode::kAlways : ReplaceMode::kUnlessUnfinished;
    if (r.workflow)
      return replace(command_name_of<PlanImportRequest>,
                     std::make_shared<const Workflow>(std::move(*r.workflow)), mode, imported,
                     std::move(respond));
    // Reading and parsing a large plan file is slow: keep it off the I/O thread.
    importer.post([this, file = *r.file, format = r.format, parallel = r.parallel, tag = r.tag,
                   mode, cancelled, respond = std::move(respond)]() mutable {
      const auto gone = [&] {
        respond.fail("plan import of " + file + " cancelled: the client went away");
      };
      if (cancelled.stop_requested()) return gone();
      std::shared_ptr<const Workflow> workflow;
      try {
        PlanOptions options{format ? std::optional(parse_plan_format(*format)) : std::nullopt,
                            parallel};
        if (tag) options.tag = *tag;
        workflow = std::make_shared<const Workflow>(
            std::move(read_plan_in_format(file, options).plan.workflow));
      } catch (const std::exception& e) {
        return respond.fail(e.what());
      }
      if (cancelled.stop_requested()) return gone();
      replace(command_name_of<PlanImportRequest>, std::move(workflow), mode, imported,
              std::move(respond), file);
    });
  }

  // --- Claims -------------------------------------------------------------------------------

  // The claim's event, or none when it found no task.
  static std::string claim_event(const std::string& worker, const ClaimResponse& c) {
    if (!c.task) return {};
    std::string event = R"({"event":"claim","task_id":)";
    append_json_string(event, c.task->id);
    event += R"(,"worker_id":)";
    append_json_string(event, worker);
    event += c.is_retry ? R"(,"is_retry":true)" : R"(,"is_retry":false)";
    event += c.is_reclaim ? R"(,"is_reclaim":true)" : R"(,"is_reclaim":false)";
    event += R"(,"attempt":)";
    event += std::to_string(c.attempt);
    if (c.task->worktree) {
      event += R"(,"worktree":)";
      append_json_string(event, *c.task->worktree);
    }
    event += '}';
    return event;
  }

  // Runs a claim in `store` and notes what it means for waiting claims.
  ClaimResponse claim_in(Store& store, const std::string& worker,
                         const std::optional<std::string>& role,
                         const std::optional<std::string>& worktree,
                         std::vector<Task>& failed_on_expiry) {
    ClaimResult c = store.claim(worker, time_source.now(), ClaimFilter{role}, worktree);
    failed_on_expiry = std::move(c.failed_on_expiry);
    if (c.task && c.task->lease_expires_at) waiters.wake_at(*c.task->lease_expires_at);
    return ClaimResponse{std::move(c.task), c.is_retry,         c.is_reclaim,
                         c.plan_complete,   std::move(c.lease), c.attempt};
  }

  // A task whose last attempt's lease expired failed during a claim: logged as a failure.
  void log_expiry_failures(const std::vector<Task>& failed) {
    for (const Task& t : failed)
      log(Json{{"event", "fail"},
               {"task_id", t.id},
               {"worker_id", t.claimed_by ? Json(*t.claimed_by) : Json(nullptr)},
               {"attempt", t.attempts},
               {"status", "failed"},
               {"reason", t.last_error.value_or("")}});
  }

  struct ClaimOutcome {
    ClaimResponse response;
    std::vector<Task> failed_on_expiry;
  };

  void on(const ClaimRequest& r, Responder<ClaimResponse> respond, std::stop_token cancelled) {
    if (r.wait) {
      return attempt_waiting_claim(
          ClaimWaiters::Waiter{r, std::chrono::steady_clock::now() + *r.wait, std::move(respond),
                               std::move(cancelled)},
          false);
    }
    auto failed = std::make_shared<std::vector<Task>>();
    mutate(
        Length::kShort,
        [this, worker = r.worker_id, role = r.role, worktree = r.worktree, failed](Store& store) {
          return claim_in(store, worker, role, worktree, *failed);
        },
        [this, worker = r.worker_id, failed](const ClaimResponse& c) {
          log_expiry_failures(*failed);
          return claim_event(worker, c);
        },
        std::move(respond));
  }

  // A claim that waits: tried now, and again whenever work may have become ready.
  void attempt_waiting_claim(ClaimWaiters::Waiter waiter, bool woken) {
    struct Outcome {
      ClaimOutcome claim;
      std::uint64_t epoch = 0;
      std::optional<Micros> deadline;
    };
    auto outcome = std::make_shared<Outcome>();
    auto w = std::make_shared<ClaimWaiters::Waiter>(std::move(waiter));
    committer.submit(
        [this, outcome, w](Store& store) {
          outcome->epoch = waiters.epoch();
          outcome->claim.response = claim_in(store, w->request.worker_id, w->request.role,
                                             w->request.worktree, outcome->claim.failed_on_expiry);
          if (!outcome->claim.response.task) outcome->deadline = store.next_deadline();
        },
        [this, outcome, w, woken](std::exception_ptr error) {
          if (error) return w->respond.fail(describe(error));
          log_expiry_failures(outcome->claim.failed_on_expiry);
          if (std::string e = claim_event(w->request.worker_id, outcome->claim.response);
              !e.empty())
            log_serialized(std::move(e));
          waiters.claimed(std::move(*w), woken, outcome->epoch, std::move(outcome->claim.response),
                          outcome->deadline);
        });
  }

  // After a write that may have made work ready is durable: the oldest waiter tries again.
  void work_may_be_ready() { waiters.wake(); }

  // --- Changes by a holder ------------------------------------------------------------------

  static Holder holder_of(const HolderFields& r) { return Holder{r.worker_id, r.lease}; }

  // {"event": kind, "task_id", "worker_id"} plus `extra`.
  static std::string holder_event(std::string_view kind, const HolderFields& r, Json extra = {}) {
    Json event{{"event", kind}, {"task_id", r.task_id}, {"worker_id", r.worker_id}};
    if (extra.is_object())
      for (auto& [key, value] : extra.items()) event[key] = value;
    return event.dump(-1, ' ', false, Json::error_handler_t::replace);
  }

  void on(const CompleteRequest& r, Responder<CompleteResponse> respond) {
    complete(r, r.verify && !r.force, std::move(respond));
  }

  // Completes (and with `next` claims) for `r`. With `verify`, a task that has verification
  // commands is not completed yet: they run first (verify_then_complete).
  void complete(const CompleteRequest& r, bool verify, Responder<CompleteResponse> respond) {
    auto commands = std::make_shared<std::optional<VerificationCommands>>();
    auto failed = std::make_shared<std::vector<Task>>();
    mutate(
        Length::kShort,
        [this, r, verify, commands, failed](Store& store) {
          *commands = store.complete(r.task_id, holder_of(r), time_source.now(), r.commit,
                                     CompleteOptions{r.force, verify});
          CompleteResponse response{r.task_id};
          if (*commands) return response;
          waiters.bump_epoch();
          if (r.next) response.next = claim_in(store, r.worker_id, r.role, r.worktree, *failed);
          return response;
        },
        [this, r, verify, commands, failed](const CompleteResponse& c) {
          if (*commands) return std::string();
          log_expiry_failures(*failed);
          std::string event = complete_event(r);
          if (c.next) {
            log_serialized(std::move(event));
            event = claim_event(r.worker_id, *c.next);
          }
          return event;
        },
        Responder<CompleteResponse>([this, r, commands, respond](Answer answer) {
          if (std::holds_alternative<CompleteResponse>(answer) && *commands)
            return verify_then_complete(r, std::move(**commands), respond);
          if (auto* done = std::get_if<CompleteResponse>(&answer)) {
            work_may_be_ready();
            return respond(std::move(*done));
          }
          respond.fail(std::get<ErrorAnswer>(std::move(answer)).message);
        }));
  }

  static std::string complete_event(const CompleteRequest& r) {
    std::string event = R"({"event":"complete","task_id":)";
    append_json_string(event, r.task_id);
    event += R"(,"worker_id":)";
    append_json_string(event, r.worker_id);
    if (r.force) event += R"(,"force":true)";
    if (!r.verify) event += R"(,"no_verify":true)";
    event += '}';
    return event;
  }

  // Runs the task's verification commands one after another in the worker's cwd; completes
  // only if every one passes, else replies with each command's status and output tail.
  void verify_then_complete(const CompleteRequest& r, VerificationCommands commands,
                            Responder<CompleteResponse> respond) {
    auto results = std::make_shared<Json>(Json::array());
    auto remaining = std::make_shared<VerificationCommands>(std::move(commands));
    std::reverse(remaining->begin(), remaining->end());
    run_next_verification(r, remaining, results, std::move(respond));
  }

  void run_next_verification(const CompleteRequest& r,
                             std::shared_ptr<VerificationCommands> remaining,
                             std::shared_ptr<Json> results, Responder<CompleteResponse> respond) {
    if (remaining->empty()) {
      log(Json{{"event", "verify"},
               {"task_id", r.task_id},
               {"worker_id", r.worker_id},
               {"passed", true},
               {"commands", *results}});
      CompleteRequest verified = r;
      return complete(verified, false, std::move(respond));
    }
    CommandSpec spec;
    spec.args = std::move(remaining->back());
    remaining->pop_back();
    spec.cwd = r.cwd.value_or(options.worktree.string());
    spec.timeout = options.default_command_timeout;
    spec.kill_grace = options.kill_grace;
    spec.output_cap = kCommandStreamCap;
    auto args = std::make_shared<std::vector<std::string>>(spec.args);
    commands.run(
        std::move(spec), CommandPool::Lock::kNone, {},
        [this, r, remaining, results, args, respond = std::move(respond)](CommandResult c) {
          const bool passed = c.returncode == 0 && !c.timed_out;
          results->push_back(Json{{"args", *args},
                                  {"returncode", c.returncode},
                                  {"timed_out", c.timed_out},
                                  {"stdout_tail", output_tail(c.stdout_text)},
                                  {"stderr_tail", output_tail(c.stderr_text)}});
          if (passed) return run_next_verification(r, remaining, results, respond);
          log(Json{{"event", "verify"},
                   {"task_id", r.task_id},
                   {"worker_id", r.worker_id},
                   {"passed", false},
                   {"commands", *results}});
          respond.fail(verification_failure(r.task_id, *results));
        });
  }

  static std::string output_tail(const std::string& text) {
    constexpr std::size_t kTail = 2000;
    return text.size() <= kTail ? text : text.substr(text.size() - kTail);
  }

  static std::string verification_failure(const std::string& task_id, const Json& results) {
    std::string message = "Task " + task_id +
                          " was not completed: a verification command failed; it stays "
                          "claimed by you. Fix the work and complete again (or an operator may "
                          "pass --no-verify).";
    for (const Json& c : results) {
      std::string argv;
      for (const Json& a : c.at("args")) argv += (argv.empty() ? "" : " ") + a.get<std::string>();
      message += "\n$ " + argv + "\n  exit status " + std::to_string(c.at("returncode").get<int>());
      if (c.at("timed_out").get<bool>()) message += " (timed out)";
      for (const char* stream : {"stdout_tail", "stderr_tail"}) {
        const std::string& tail = c.at(stream).get_ref<const std::string&>();
        if (!tail.empty()) message += "\n  " + std::string(stream) + ":\n" + tail;
      }
    }
    return message;
  }

  void on(const HeartbeatRequest& r, Responder<HeartbeatResponse> respond) {
    mutate(
        Length::kShort,
        [this, r](Store& store) {
          return HeartbeatResponse{r.task_id,
                                   store.heartbeat(r.task_id, holder_of(r), time_source.now())};
        },
        [this, r](const HeartbeatResponse& h) {
          waiters.wake_at(h.lease_expires_at);
          return holder_event("heartbeat", r);
        },
        std::move(respond));
  }

  void on(const ReleaseRequest& r, Responder<ReleaseResponse> respond) {
    mutate(
        Length::kShort,
        [this, r](Store& store) {
          store.release(r.task_id, holder_of(r));
          waiters.bump_epoch();
          return ReleaseResponse{{r.task_id}};
        },
        [this, r](const ReleaseResponse&) {
          work_may_be_ready();
          return holder_event("release", r,
                              r.reason ? Json{{"reason", *r.reason}} : Json::object());
        },
        std::move(respond));
  }

  void on(const FailRequest& r, Responder<FailResponse> respond) {
    mutate(
        Length::kShort,
        [this, r](Store& store) {
          const FailResult f = store.fail(r.task_id, holder_of(r), r.reason, time_source.now());
          if (f.status == TaskStatus::kPending && !f.retry_at) waiters.bump_epoch();
          return FailResponse{r.task_id, f.attempt, f.status, f.retry_at};
        },
        [this, r](const FailResponse& f) {
          if (f.retry_at)
            waiters.wake_at(*f.retry_at);
          else
            work_may_be_ready();  // ready again at once, or failed: maybe the plan is complete
          Json extra{{"attempt", f.attempt}, {"status", to_string(f.status)}, {"reason", r.reason}};
          if (f.retry_at) extra["retry_at"] = format_iso8601(*f.retry_at);
          return holder_event("fail", r, std::move(extra));
        },
        std::move(respond));
  }

  // A task changed by an operator: {"event": kind, "task_id"}.
  static std::string task_event(std::string_view kind, const std::string& task_id) {
    return Json{{"event", kind}, {"task_id", task_id}}.dump(-1, ' ', false,
                                                            Json::error_handler_t::replace);
  }

  void on(const RetryRequest& r, Responder<RetryResponse> respond) {
    mutate(
        Length::kShort,
        [this, r](Store& store) {
          store.retry(r.task_id);
          waiters.bump_epoch();
          return RetryResponse{{r.task_id}};
        },
        [this, r](const RetryResponse&) {
          work_may_be_ready();
          return task_event("retry", r.task_id);
        },
        std::move(respond));
  }

  void on(const AddRequest& r, Responder<AddResponse> respond) {
    mutate(
        Length::kShort,
        [this, r](Store& store) {
          store.add_task(r.task);
          waiters.bump_epoch();
          return AddResponse{{r.task.id}};
        },
        [this, r](const AddResponse&) {
          work_may_be_ready();
          return task_event("add", r.task.id);
        },
        std::move(respond));
  }

  void on(const PlanResetRequest&, Responder<PlanResetResponse> respond) {
    mutate(
        Length::kLong,
        [this](Store& store) {
          store.reset();
          waiters.bump_epoch();
          return PlanResetResponse{};
        },
        [this](const PlanResetResponse&) {
          work_may_be_ready();
          return std::string(R"({"event":"plan_reset"})");
        },
        std::move(respond));
  }

  // --- Reading tasks ------------------------------------------------------------------------

  void on(const ShowRequest& r, Responder<ShowResponse> respond) {
    read(
        [this, id = r.task_id] {
          const std::optional<Workflow> workflow = reader_store->load();
          if (!workflow) throw Error::not_found("No active workflow");
          const BlockedBy blocked(*workflow);
          for (const Task& t : workflow->tasks)
            if (t.id == id) return ShowResponse{t, blocked.of(t)};
          throw Error::not_found("Task " + id + " not found");
        },
        std::move(respond));
  }

  void on(const ListRequest& r, Responder<ListResponse> respond) {
    read(
        [this, status = r.status] {
          const std::optional<Workflow> workflow = reader_store->load();
          ListResponse list;
          if (!workflow) return list;
          const BlockedBy blocked(*workflow);
          for (const Task& t : workflow->tasks)
            if (!status || t.status == *status) list.tasks.push_back({t, blocked.of(t)});
          return list;
        },
        std::move(respond));
    release_free_memory();
  }

  // A worker that runs commands is alive: the leases of the tasks it holds are renewed when a
  // command starts and when it ends (a failure to renew only means the lease runs as it was).
  void renew_leases_of(const std::optional<std::string>& worker) {
    if (!worker) return;
    committer.submit(
        [this, worker = *worker](Store& store) { store.renew_leases(worker, time_source.now()); },
        [](std::exception_ptr) {});
  }

  CommandSpec command_spec(const CommandRequest& r, std::vector<std::string> args,
                           std::chrono::milliseconds default_timeout) const {
    CommandSpec spec;
    spec.args = std::move(args);
    spec.cwd = r.cwd.value_or(options.worktree.string());
    spec.env = r.env;
    spec.inherit_environment = !r.env_complete;
    spec.timeout = r.timeout.value_or(default_timeout);
    spec.kill_grace = options.kill_grace;
    spec.output_cap = kCommandStreamCap;
    return spec;
  }

  template <typename Response>
  void run_command(std::string_view kind, const CommandRequest& request, CommandSpec spec,
                   CommandPool::Lock lock, std::stop_token cancelled, Responder<Response> respond) {
    auto logged = std::make_shared<CommandSpec>(spec);
    renew_leases_of(request.worker_id);
    commands.run(std::move(spec), lock, std::move(cancelled),
                 [this, kind, logged, base64 = request.base64_output, worker = request.worker_id,
                  respond = std::move(respond)](CommandResult r) {
                   renew_leases_of(worker);
                   log(command_event(kind, *logged, r));
                   Response response;
                   response.returncode = r.returncode;
                   response.stdout_bytes = std::move(r.stdout_text);
                   response.stderr_bytes = std::move(r.stderr_text);
                   response.signal_name = std::move(r.signal_name);
                   response.duration_ms = r.duration_ms;
                   response.timed_out = r.timed_out;
                   response.truncated = r.stdout_truncated || r.stderr_truncated;
                   response.base64 = base64;
                   respond(std::move(response));
                 });
  }

  void on(const ExecRequest& r, Responder<ExecResponse> respond, std::stop_token cancelled) {
    run_command("exec", r, command_spec(r, r.args, options.default_command_timeout),
                r.exclusive ? CommandPool::Lock::kRepository : CommandPool::Lock::kNone,
                std::move(cancelled), std::move(respond));
  }

  void on(const GitRequest& r, Responder<GitResponse> respond, std::stop_token cancelled) {
    check_git_args(r.args);
    check_git_env(r.env, r.env_complete);
    std::vector<std::string> args{"git"};
    args.insert(args.end(), r.args.begin(), r.args.end());
    CommandSpec spec = command_spec(r, std::move(args), options.default_git_timeout);
    spec.env = git_environment(r.env, r.env_complete, process_environment());
    spec.inherit_environment = false;
    std::vector<std::filesystem::path> protected_paths = git_directories(options.worktree);
    for (auto& config : git_config_locations(spec.env)) protected_paths.push_back(config);
    check_git_paths(r.args, spec.cwd, protected_paths);
    run_command("git", r, std::move(spec), CommandPool::Lock::kRepository, std::move(cancelled),
                std::move(respond));
  }

  void on(const ShutdownRequest&, Responder<ShutdownResponse> respond) { respond({}); }
};

Service::Service(Collaborators collaborators, Options options)
    : impl_(std::make_unique<Impl>(std::move(collaborators), std::move(options))) {
  impl_->log(Json{{"event", "daemon_start"}, {"pid", ::getpid()}});
}

Service::~Service() {
  impl_->shutdown();
  impl_->log(Json{{"event", "daemon_stop"}, {"pid", ::getpid()}});
}

void Service::work_may_be_ready() {
  impl_->waiters.bump_epoch();
  impl_->work_may_be_ready();
}

void Service::handle(Request request, Reply reply, std::stop_token cancelled) {
  if (impl_->stopping) return reply(ErrorAnswer{"the daemon is shutting down"});
  try {
    std::visit(
        [&](auto& r) {
          // Every command in the table (protocol/commands.h) has its handler here: a missing one
          // fails to compile. A copy of `reply`: a handler that throws must leave ours callable
          // for the catch. A handler may take the request by rvalue to keep a large plan's
          // tasks without copying them.
          using Response = typename CommandFor<std::decay_t<decltype(r)>>::Response;
          Responder<Response> respond(reply);
          if constexpr (requires { impl_->on(std::move(r), respond, cancelled); })
            impl_->on(std::move(r), std::move(respond), std::move(cancelled));
          else
            impl_->on(std::move(r), std::move(respond));
        },
        request);
  } catch (const std::exception& e) {
    reply(ErrorAnswer{e.what()});
  }
}

}  // namespace harness
