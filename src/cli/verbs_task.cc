#include "cli/verbs_task.h"

#include <iomanip>
#include <iostream>

#include "cli/git_head.h"
#include "cli/lease_book.h"
#include "cli/worker_id.h"
#include "core/error.h"
#include "store/state_dir.h"

namespace harness {

namespace {

LeaseBook lease_book(CliContext& ctx) { return LeaseBook(state_dir(ctx.worktree()) / "leases"); }

std::string option(const CLI::App& verb, const char* name) {
  return verb.get_option(name)->as<std::string>();
}

std::optional<std::string> optional_option(const CLI::App& verb, const char* name) {
  if (verb.count(name) == 0) return std::nullopt;
  return option(verb, name);
}

// The holder fields of a change to task --id by this worker, with the lease kept for it.
HolderFields holder_fields(CliContext& ctx, const CLI::App& verb) {
  HolderFields h;
  h.task_id = option(verb, "--id");
  h.worker_id = resolve_worker_id();
  h.lease = lease_book(ctx).lease_of(h.worker_id, h.task_id);
  return h;
}

// Keeps the lease a claim returned, so that this worker's later changes carry it.
void keep_lease(CliContext& ctx, const std::string& worker, const ClaimResponse& claim) {
  if (claim.task && !claim.lease.empty())
    lease_book(ctx).remember(worker, claim.task->id, claim.lease);
}

void add_id_option(CLI::App& verb) {
  verb.add_option("--id")->description("Task id")->type_name("ID")->required();
}

void add_claim_options(CLI::App& verb) {
  verb.add_option("--wait")
      ->description(
          "Wait up to S seconds for a task to become ready (returns at once when the plan is "
          "complete: plan_complete true)")
      ->type_name("S")
      ->check(CLI::Range(0.0, kMaxClaimWaitSeconds));
  verb.add_option("--role")
      ->description("Take only tasks of this role (or with none)")
      ->type_name("ROLE");
}

int run_claim(CliContext& ctx, const CLI::App& verb) {
  ClaimRequest request;
  request.worker_id = resolve_worker_id();
  if (verb.count("--wait")) {
    const double seconds = verb.get_option("--wait")->as<double>();
    if (seconds > 0) request.wait = command_timeout(seconds);
  }
  request.role = optional_option(verb, "--role");
  request.worktree = ctx.origin().string();
  ClientOptions options = ctx.client();
  if (options.read_timeout && request.wait) *options.read_timeout += *request.wait;
  const auto answer = call(options, request);
  if (const auto* claim = std::get_if<ClaimResponse>(&answer))
    keep_lease(ctx, request.worker_id, *claim);
  return print_envelope(answer);
}

void add_complete_options(CLI::App& verb) {
  add_id_option(verb);
  verb.add_flag("--next")->description("Then claim the next task, in the same request");
  verb.add_option("--role")
      ->description("With --next: the role of the next claim")
      ->type_name("ROLE");
  verb.add_flag("--force")->description(
      "Operator: complete a task this worker does not hold (logged)");
  verb.add_flag("--no-verify")
      ->description("Operator: skip the task's verification_commands (logged)");
}

// The commit the task's work ends at goes with it, so that the check-commit hook can tell
// whether the work was committed; the worker's cwd, so that verification commands run where it
// works.
int run_complete(CliContext& ctx, const CLI::App& verb) {
  CompleteRequest request{holder_fields(ctx, verb)};
  request.commit = current_head(ctx.origin());
  request.force = verb.count("--force") > 0;
  request.next = verb.count("--next") > 0;
  request.verify = verb.count("--no-verify") == 0;
  request.cwd = std::filesystem::current_path().string();
  request.role = optional_option(verb, "--role");
  if (request.next) request.worktree = ctx.origin().string();
  // Verification commands may run long: the reply comes when they are done.
  ClientOptions options = ctx.client();
  options.read_timeout.reset();
  const auto answer = call(options, request);
  if (const auto* done = std::get_if<CompleteResponse>(&answer)) {
    lease_book(ctx).forget(request.worker_id, request.task_id);
    if (done->next) keep_lease(ctx, request.worker_id, *done->next);
  }
  return print_envelope(answer);
}

int run_heartbeat(CliContext& ctx, const CLI::App& verb) {
  return print_envelope(call(ctx.client(), HeartbeatRequest{holder_fields(ctx, verb)}));
}

void add_release_options(CLI::App& verb) {
  add_id_option(verb);
  verb.add_option("--reason")->description("Why (logged)")->type_name("TEXT");
}

int run_release(CliContext& ctx, const CLI::App& verb) {
  const ReleaseRequest request{holder_fields(ctx, verb), optional_option(verb, "--reason")};
  const auto answer = call(ctx.client(), request);
  if (std::holds_alternative<ReleaseResponse>(answer))
    lease_book(ctx).forget(request.worker_id, request.task_id);
  return print_envelope(answer);
}

void add_fail_options(CLI::App& verb) {
  add_id_option(verb);
  verb.add_option("--reason")
      ->description("What went wrong (kept as the task's last_error)")
      ->type_name("TEXT")
      ->required();
}

int run_fail(CliContext& ctx, const CLI::App& verb) {
  const FailRequest request{holder_fields(ctx, verb), option(verb, "--reason")};
  const auto answer = call(ctx.client(), request);
  if (std::holds_alternative<FailResponse>(answer))
    lease_book(ctx).forget(request.worker_id, request.task_id);
  return print_envelope(answer);
}

int run_retry(CliContext& ctx, const CLI::App& verb) {
  return print_envelope(call(ctx.client(), RetryRequest{{option(verb, "--id")}}));
}

void add_show_options(CLI::App& verb) {
  add_id_option(verb);
  verb.add_flag("--json")->description("Print the task as JSON");
}

std::string time_text(const std::optional<Micros>& t) {
  return t ? format_iso8601(*t) : std::string("-");
}

std::string joined(const std::vector<std::string>& items) {
  std::string text;
  for (const std::string& item : items) text += (text.empty() ? "" : ", ") + item;
  return text.empty() ? "-" : text;
}

// The state a person reads: failed and blocked tasks say so.
std::string state_of(const ShowResponse& t) {
  if (!t.blocked_by.empty()) return "blocked";
  if (t.task.status == TaskStatus::kPending && t.task.retry_at) return "backoff";
  return std::string(to_string(t.task.status));
}

void print_task(const ShowResponse& shown) {
  const Task& t = shown.task;
  std::cout << t.id << ": " << t.description << "\n";
  const auto line = [](const char* name, const std::string& value) {
    std::cout << "  " << std::left << std::setw(14) << name << value << "\n";
  };
  line("status", state_of(shown));
  line("depends on", joined(t.dependencies));
  if (!shown.blocked_by.empty()) line("blocked by", joined(shown.blocked_by));
  line("holder", t.claimed_by.value_or("-"));
  if (t.worktree) line("worktree", *t.worktree);
  line("attempts", std::to_string(t.attempts) + " of " + std::to_string(t.max_attempts));
  if (t.last_error) line("last error", *t.last_error);
  line("started", time_text(t.started_at));
  line("lease expires", time_text(t.lease_expires_at));
  if (t.retry_at) line("retry at", time_text(t.retry_at));
  if (t.completed_at) line("completed", time_text(t.completed_at));
  if (t.priority) line("priority", std::to_string(t.priority));
  if (t.role) line("role", *t.role);
  if (t.instructions) std::cout << "\n" << *t.instructions << "\n";
}

int run_show(CliContext& ctx, const CLI::App& verb) {
  const auto answer = call(ctx.client(), ShowRequest{{option(verb, "--id")}});
  if (verb.count("--json")) return print_envelope(answer);
  const ShowResponse* shown = response_or_report(answer);
  if (!shown) return 1;
  print_task(*shown);
  return 0;
}

void add_list_options(CLI::App& verb) {
  verb.add_option("--status")
      ->description("Only tasks of this status")
      ->check(CLI::IsMember({"pending", "running", "completed", "failed"}))
      ->type_name("STATUS");
  verb.add_flag("--json")->description("Print {\"tasks\": [...]} as JSON");
}

int run_list(CliContext& ctx, const CLI::App& verb) {
  ListRequest request;
  if (verb.count("--status")) request.status = parse_task_status(option(verb, "--status"));
  const auto answer = call(ctx.client(), request);
  const ListResponse* list = response_or_report(answer);
  if (!list) return 1;
  if (verb.count("--json")) {
    std::cout << list->to_json().dump(-1, ' ', false, Json::error_handler_t::replace) << "\n";
    return 0;
  }
  for (const ShowResponse& t : list->tasks) {
    std::cout << std::left << std::setw(16) << t.task.id << " " << std::setw(10) << state_of(t)
              << " " << std::setw(16) << t.task.claimed_by.value_or("-") << " "
              << t.task.description << "\n";
  }
  return 0;
}

void add_add_options(CLI::App& verb) {
  verb.add_option("--id")->description("The new task's id")->type_name("ID")->required();
  verb.add_option("--description")->description("What to do")->type_name("TEXT");
  verb.add_option("--depends-on")
      ->description("A task it waits for (repeat, or separate with commas, for several)")
      ->type_name("ID")
      ->delimiter(',')
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  verb.add_option("--instructions")->description("Free text for the agent")->type_name("TEXT");
  verb.add_option("--priority")->description("Higher is claimed first (default 0)")->type_name("N");
  verb.add_option("--role")
      ->description("Only workers of this role (or none) take it")
      ->type_name("ROLE");
  verb.add_option("--timeout")->description("Lease in seconds (default 600)")->type_name("S");
  verb.add_option("--max-attempts")
      ->description("Attempts before it fails (default 3)")
      ->type_name("N");
  verb.add_option("--verify")
      ->description("A verification command, split like shell words (repeat for several)")
      ->type_name("CMD")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

// The task the options describe, read as a plan's task would be (the same checks).
Task task_from_options(const CLI::App& verb) {
  Json task{{"id", option(verb, "--id")}};
  const auto text = [&](const char* name, const char* field) {
    if (verb.count(name)) task[field] = option(verb, name);
  };
  const auto number = [&](const char* name, const char* field) {
    if (!verb.count(name)) return;
    try {
      task[field] = std::stoll(option(verb, name));
    } catch (const std::exception&) {
      throw Error::invalid(std::string(name) + " must be a whole number");
    }
  };
  text("--description", "description");
  text("--instructions", "instructions");
  text("--role", "role");
  number("--priority", "priority");
  number("--timeout", "timeout_seconds");
  number("--max-attempts", "max_attempts");
  if (verb.count("--depends-on"))
    task["dependencies"] = verb.get_option("--depends-on")->as<std::vector<std::string>>();
  if (verb.count("--verify"))
    task["verification_commands"] = verb.get_option("--verify")->as<std::vector<std::string>>();
  return task_from_json(task);
}

int run_add(CliContext& ctx, const CLI::App& verb) {
  return print_envelope(call(ctx.client(), AddRequest{task_from_options(verb)}));
}

constexpr CommandVerb kCommandVerbs[] = {
    {"task claim",
     "Claim the next ready task for this worker (prints the reply envelope; keeps the lease "
     "token for this worker)",
     run_claim, add_claim_options},
    {"task complete",
     "Complete a task this worker holds, after its verification commands pass (prints the reply "
     "envelope)",
     run_complete, add_complete_options},
    {"task heartbeat",
     "Renew the lease of a task this worker holds (exec and git run by this worker renew it too)",
     run_heartbeat, add_id_option},
    {"task release", "Give a held task back: pending again, no attempt counted", run_release,
     add_release_options},
    {"task fail",
     "Fail this attempt: the task is retried after a backoff (its retry_backoff_seconds, default "
     "5, doubling per failed attempt, at most 600 s) until max_attempts (default 3), then failed",
     run_fail, add_fail_options},
    {"task retry",
     "Operator: make a failed task (or one waiting out its backoff) and what it blocks claimable "
     "again, attempts reset",
     run_retry, add_id_option},
    {"task show", "Show one task: state, holder, attempts, last error, lease, blocked_by", run_show,
     add_show_options},
    {"task list",
     "List the tasks in plan order: id, state (blocked and backoff too), holder, description",
     run_list, add_list_options},
    {"task add", "Add a task to the live plan (dependencies must exist)", run_add, add_add_options},
};

}  // namespace

void register_task_verbs(CLI::App& app, CliContext& ctx, Action& action) {
  app.add_subcommand("task", "Claim, complete and manage tasks")->require_subcommand(1);
  add_command_verbs(app, kCommandVerbs, ctx, action);
}

}  // namespace harness
