#include "server/service.h"

#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <type_traits>

#include "core/error.h"
#include "core/plan_file.h"
#include "exec/git_guard.h"
#include "log/exec_event.h"
#include "server/command_pool.h"
#include "server/command_reply.h"
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

// A reply that is already built.
Service::ReplyBuilder ready(std::string line) {
  return [line = std::move(line)]() mutable { return std::move(line); };
}

// The reply to a claim, written directly: it carries a whole task and is on the hot path.
std::string claim_reply(const ClaimResult& r) {
  std::string line(kOkReplyHead);
  line += R"({"task":)";
  if (r.task)
    append_task_json(line, *r.task);
  else
    line += "null";
  line += r.is_retry ? R"(,"is_retry":true)" : R"(,"is_retry":false)";
  line += r.is_reclaim ? R"(,"is_reclaim":true)" : R"(,"is_reclaim":false)";
  line += r.plan_complete ? R"(,"plan_complete":true})" : R"(,"plan_complete":false})";
  line += kOkReplyTail;
  return line;
}

Json counts_data(const StatusCounts& c) {
  return Json{{"pending", c.pending},
              {"running", c.running},
              {"completed", c.completed},
              {"failed", c.failed},
              {"total", c.total()}};
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

  // Runs a mutation; on success replies with the line `reply_line(result)` writes and logs the
  // event whose object text `event(result)` writes, if it writes one. `run(store)` makes one
  // Store call, a write, and returns what it returned (GroupCommitter::Mutation). The three are
  // template parameters, not std::functions: on the hot path each std::function wrapper and
  // copy was a heap allocation more.
  template <typename Run, typename ReplyLine, typename Event>
  void mutate(Length length, Run run, ReplyLine reply_line, Event event, Reply reply) {
    using Result = std::invoke_result_t<Run&, Store&>;
    auto result = std::make_shared<Result>();
    GroupCommitter::Mutation mutation = [run = std::move(run), result](Store& store) {
      *result = run(store);
    };
    // Called once: it hands what it holds over to the reply builder.
    GroupCommitter::Done done = [this, result, reply_line = std::move(reply_line),
                                 event = std::move(event),
                                 reply = std::move(reply)](std::exception_ptr error) mutable {
      if (error) return reply(ready(error_reply(describe(error))));
      // The builder owns the result: nothing is shared between the thread that ran the
      // mutation and the one that builds the reply.
      reply([this, outcome = std::move(*result), reply_line = std::move(reply_line),
             event = std::move(event)] {
        std::string e = event(outcome);
        if (!e.empty()) log_serialized(std::move(e));
        return reply_line(outcome);
      });
    };
    if (length == Length::kShort) return committer.run_here(std::move(mutation), std::move(done));
    committer.submit(std::move(mutation), std::move(done));
  }

  void on(const PingRequest&, Reply reply) {
    reply(ready(ok_reply(
        Json{{"running", true}, {"pid", ::getpid()}, {"worktree", options.worktree.string()}})));
  }

  // Replies to a read once what it saw is durable: a change is visible as soon as its batch
  // commits, a moment before the sync that lets its own reply go.
  void reply_when_durable(std::string line, Reply reply) {
    committer.when_durable(
        [line = std::move(line), reply = std::move(reply)](std::exception_ptr error) mutable {
          reply(ready(error ? error_reply(describe(error)) : std::move(line)));
        });
  }

  void on(const GetStateRequest&, Reply reply) {
    reader.post([this, reply = std::move(reply)] {
      try {
        auto workflow = reader_store->load();
        reply_when_durable(
            ok_reply_serialized(workflow ? workflow_to_json(*workflow).dump() : "null"), reply);
      } catch (const std::exception& e) {
        reply(ready(error_reply(e.what())));
      }
      release_free_memory();
    });
  }

  // A whole workflow in memory (a JSON document, then Task objects) takes ~1 KB a task; once
  // freed, glibc keeps those pages. Handing them back keeps the daemon small between bulk
  // operations (100,000 tasks: ~120 MB resident otherwise).
  void release_free_memory() {
    reader.post([] { ::malloc_trim(0); });
  }

  void on(const StatusRequest&, Reply reply) {
    reader.post([this, reply = std::move(reply)] {
      try {
        auto counts = reader_store->status_counts();
        if (!counts) return reply_when_durable(ok_reply(Json(nullptr)), reply);
        Json data = counts_data(*counts);
        const GroupCommitter::Stats commits = committer.stats();
        data["commits"] = Json{{"batches", commits.batches},
                               {"mutations", commits.mutations},
                               {"syncs", commits.syncs}};
        const CommandPool::Counts running = commands.counts();
        data["commands"] = Json{
            {"running", running.running}, {"queued", running.queued}, {"max", running.max_running}};
        reply_when_durable(ok_reply(data), reply);
      } catch (const std::exception& e) {
        reply(ready(error_reply(e.what())));
      }
    });
  }

  // `command` ("update_state" or "plan_import") names the event and picks the reply:
  // update_state answers with the workflow, plan_import with the number of tasks imported.
  // `file`, when the workflow came from one, is named in the error if the store refuses it.
  void replace(std::shared_ptr<const Workflow> workflow, ReplaceMode mode, std::string_view command,
               Reply reply, std::string file = {}) {
    mutate(
        Length::kLong,
        [workflow, mode, file = std::move(file)](Store& store) {
          try {
            store.replace_workflow(*workflow, mode);
          } catch (const Error& e) {
            if (file.empty()) throw;
            throw Error(e.kind(), "plan file " + file + ": " + e.what());
          }
          return true;
        },
        [workflow, command](const bool&) {
          if (command == "update_state") return ok_reply(workflow_to_json(*workflow));
          return ok_reply(Json{{"imported", workflow->tasks.size()}});
        },
        [this, workflow, command](const bool&) {
          release_free_memory();
          return Json{{"event", command}, {"tasks", workflow->tasks.size()}}.dump();
        },
        std::move(reply));
  }

  void on(const UpdateStateRequest& r, Reply reply) {
    replace(std::make_shared<const Workflow>(r.workflow), ReplaceMode::kAlways, "update_state",
            std::move(reply));
  }

  void on(const PlanImportRequest& r, Reply reply, std::stop_token cancelled) {
    const ReplaceMode mode = r.force ? ReplaceMode::kAlways : ReplaceMode::kUnlessUnfinished;
    if (r.workflow)
      return replace(std::make_shared<const Workflow>(*r.workflow), mode, "plan_import",
                     std::move(reply));
    // Reading and parsing a large plan file is slow: keep it off the I/O thread.
    importer.post([this, file = *r.file, mode, cancelled, reply = std::move(reply)]() mutable {
      const auto gone = [&] {
        return error_reply("plan import of " + file + " cancelled: the client went away");
      };
      if (cancelled.stop_requested()) return reply(ready(gone()));
      std::shared_ptr<const Workflow> workflow;
      try {
        workflow = std::make_shared<const Workflow>(read_plan_file(file));
      } catch (const std::exception& e) {
        // `reply` is still ours here: replace() below takes it only once the file is read.
        return reply(ready(error_reply(e.what())));
      }
      if (cancelled.stop_requested()) return reply(ready(gone()));
      replace(std::move(workflow), mode, "plan_import", std::move(reply), file);
    });
  }

  void on(const ClaimRequest& r, Reply reply) {
    const Clock* clock = &time_source;
    mutate(
        Length::kShort,
        [worker = r.worker_id, clock](Store& store) { return store.claim(worker, clock->now()); },
        claim_reply,
        [worker = r.worker_id](const ClaimResult& c) {
          if (!c.task) return std::string();
          std::string event = R"({"event":"claim","task_id":)";
          append_json_string(event, c.task->id);
          event += R"(,"worker_id":)";
          append_json_string(event, worker);
          event += c.is_retry ? R"(,"is_retry":true)" : R"(,"is_retry":false)";
          event += c.is_reclaim ? R"(,"is_reclaim":true})" : R"(,"is_reclaim":false})";
          return event;
        },
        std::move(reply));
  }

  void on(const CompleteRequest& r, Reply reply) {
    const Clock* clock = &time_source;
    mutate(
        Length::kShort,
        [r, clock](Store& store) {
          store.complete(r.task_id, r.worker_id, clock->now(), r.commit);
          return true;
        },
        [id = r.task_id](const bool&) {
          std::string line(kOkReplyHead);  // {"task_id":id}, written directly: the hot path
          line += R"({"task_id":)";
          append_json_string(line, id);
          line += '}';
          line += kOkReplyTail;
          return line;
        },
        [r](const bool&) {
          std::string event = R"({"event":"complete","task_id":)";
          append_json_string(event, r.task_id);
          event += R"(,"worker_id":)";
          append_json_string(event, r.worker_id);
          event += '}';
          return event;
        },
        std::move(reply));
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

  void run_command(std::string_view kind, CommandSpec spec, CommandPool::Lock lock, bool base64,
                   std::stop_token cancelled, Reply reply) {
    auto logged = std::make_shared<CommandSpec>(spec);
    commands.run(
        std::move(spec), lock, std::move(cancelled),
        [this, kind, logged, base64, reply = std::move(reply)](const CommandResult& result) {
          reply(ready(base64 ? command_reply_base64(result) : command_reply(result)));
          log(command_event(kind, *logged, result));
        });
  }

  void on(const ExecRequest& r, Reply reply, std::stop_token cancelled) {
    run_command("exec", command_spec(r, r.args, options.default_command_timeout),
                r.exclusive ? CommandPool::Lock::kRepository : CommandPool::Lock::kNone,
                r.base64_output, std::move(cancelled), std::move(reply));
  }

  void on(const GitRequest& r, Reply reply, std::stop_token cancelled) {
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
                std::move(cancelled), std::move(reply));
  }

  void on(const ShutdownRequest&, Reply reply) { reply(ready(ok_reply(Json{{"shutdown", true}}))); }
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
  if (impl_->stopping) return reply(ready(error_reply("the daemon is shutting down")));
  try {
    std::visit(
        [&](const auto& r) {
          // A copy of `reply`: a handler that throws must leave ours callable for the catch.
          if constexpr (requires { impl_->on(r, reply, cancelled); })
            impl_->on(r, reply, std::move(cancelled));
          else
            impl_->on(r, reply);
        },
        request);
  } catch (const std::exception& e) {
    reply(ready(error_reply(e.what())));
  }
}

}  // namespace harness
