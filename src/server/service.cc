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
  std::atomic<bool> stopping{false};

  Impl(Collaborators c, Options o)
      : options(std::move(o)),
        reader_store(&c.reads),
        trajectory(c.events),
        time_source(c.clock),
        committer(c.writes),
        commands(options.max_commands, std::move(c.run_command)) {}

  // ~Service's sequence. The committer's callbacks post to the reader (release_free_memory) and
  // imports hand plans to the committer: each stops only once nothing before it can use it.
  void shutdown() {
    stopping = true;
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
    respond(PingResponse{::getpid(), options.worktree.string()});
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
    importer.post([this, file = *r.file, format = r.format, parallel = r.parallel, mode, cancelled,
                   respond = std::move(respond)]() mutable {
      const auto gone = [&] {
        respond.fail("plan import of " + file + " cancelled: the client went away");
      };
      if (cancelled.stop_requested()) return gone();
      std::shared_ptr<const Workflow> workflow;
      try {
        const PlanOptions options{format ? std::optional(parse_plan_format(*format)) : std::nullopt,
                                  parallel};
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

  void on(const ClaimRequest& r, Responder<ClaimResponse> respond) {
    const Clock* clock = &time_source;
    mutate(
        Length::kShort,
        [worker = r.worker_id, clock](Store& store) {
          ClaimResult c = store.claim(worker, clock->now());
          return ClaimResponse{std::move(c.task), c.is_retry, c.is_reclaim, c.plan_complete};
        },
        [worker = r.worker_id](const ClaimResponse& c) {
          if (!c.task) return std::string();
          std::string event = R"({"event":"claim","task_id":)";
          append_json_string(event, c.task->id);
          event += R"(,"worker_id":)";
          append_json_string(event, worker);
          event += c.is_retry ? R"(,"is_retry":true)" : R"(,"is_retry":false)";
          event += c.is_reclaim ? R"(,"is_reclaim":true})" : R"(,"is_reclaim":false})";
          return event;
        },
        std::move(respond));
  }

  void on(const CompleteRequest& r, Responder<CompleteResponse> respond) {
    const Clock* clock = &time_source;
    mutate(
        Length::kShort,
        [r, clock](Store& store) {
          store.complete(r.task_id, r.worker_id, clock->now(), r.commit);
          return CompleteResponse{r.task_id};
        },
        [r](const CompleteResponse&) {
          std::string event = R"({"event":"complete","task_id":)";
          append_json_string(event, r.task_id);
          event += R"(,"worker_id":)";
          append_json_string(event, r.worker_id);
          event += '}';
          return event;
        },
        std::move(respond));
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
  void run_command(std::string_view kind, CommandSpec spec, CommandPool::Lock lock, bool base64,
                   std::stop_token cancelled, Responder<Response> respond) {
    auto logged = std::make_shared<CommandSpec>(spec);
    commands.run(std::move(spec), lock, std::move(cancelled),
                 [this, kind, logged, base64, respond = std::move(respond)](CommandResult r) {
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
    run_command("exec", command_spec(r, r.args, options.default_command_timeout),
                r.exclusive ? CommandPool::Lock::kRepository : CommandPool::Lock::kNone,
                r.base64_output, std::move(cancelled), std::move(respond));
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
    run_command("git", std::move(spec), CommandPool::Lock::kRepository, r.base64_output,
                std::move(cancelled), std::move(respond));
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
