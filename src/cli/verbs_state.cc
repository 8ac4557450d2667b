#include "cli/verbs_state.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>

#include "cli/verbs_plan.h"
#include "cli/verbs_worktree.h"
#include "core/error.h"
#include "plan/plan_format.h"

namespace harness {

namespace fs = std::filesystem;

namespace {

int run_ping(CliContext& ctx, const CLI::App&) {
  if (!response_or_report(call(ctx.client(), PingRequest{}))) return 1;
  std::cout << "ok\n";
  return 0;
}

int run_get_state(CliContext& ctx, const CLI::App&) {
  const auto answer = call(ctx.client(), GetStateRequest{});
  const GetStateResponse* state = response_or_report(answer);
  if (!state) return 1;
  if (!state->workflow) {
    std::cout << "No active workflow\n";
    return 1;
  }
  std::cout << state->to_json().dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
  return 0;
}

constexpr CommandVerb kCommandVerbs[] = {
    {"ping", "Check that the daemon answers (starts it if needed); prints 'ok'", run_ping},
    {"get-state", "Print the workflow as JSON ('No active workflow' and exit 1 when none)",
     run_get_state},
};

std::string read_input(const std::string& file) {
  std::stringstream text;
  if (file.empty() || file == "-") {
    text << std::cin.rdbuf();
  } else {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw Error::invalid("cannot read " + file);
    text << in.rdbuf();
  }
  return text.str();
}

// The plan `update-state` sends, checked here so that errors speak of the input, not of the
// request field it travels in.
Json read_updates(const std::string& file) {
  const std::string where = file.empty() || file == "-" ? "stdin" : file;
  const std::string text = read_input(file);
  Json updates;
  try {
    updates = parse_json(text);
  } catch (const Error& e) {
    if (e.kind() != Error::Kind::kInvalidArgument) throw;
    throw Error::invalid(where + " is not valid JSON: " + e.what());
  }
  if (!updates.is_object() || !updates.contains("tasks"))
    throw Error::invalid(where + " must hold a JSON object {\"tasks\": {ID: TASK, ...}}, not " +
                         (updates.is_object() ? std::string("an object without 'tasks'")
                                              : std::string("a JSON ") + updates.type_name()));
  return updates;
}

int update_state(CliContext& ctx, const std::string& file) {
  const UpdateStateRequest request{workflow_from_json(read_updates(file))};
  const auto answer = call(ctx.client(), request);
  const UpdateStateResponse* updated = response_or_report(answer);
  if (!updated) return 1;
  std::cout << updated->to_json().dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
  return 0;
}

// --file of update-state: an existing file, or "-" for stdin.
std::string check_input_file(std::string& file) {
  return file == "-" ? std::string() : CLI::ExistingFile(file);
}

void add_update_state(CLI::App& app, CliContext& ctx, Action& action) {
  auto file = std::make_shared<std::string>();
  add_verb(app, "update-state",
           "Replace the workflow's tasks with {\"tasks\": {...}} from --file or stdin", action,
           [&ctx, file] { return update_state(ctx, *file); })
      ->add_option("--file,-f", *file, "JSON file (default: stdin, also '-')")
      ->check(CLI::Validator(check_input_file, "FILE"));
}

struct PlanFileArgs {
  std::string file;
  std::string format;  // empty: detected
  bool parallel = false;
  bool force = false;
  std::string tag;  // taskmaster; empty: kDefaultTaskmasterTag

  PlanOptions options() const {
    PlanOptions options{format.empty() ? std::nullopt : std::optional(parse_plan_format(format)),
                        parallel};
    if (!tag.empty()) options.tag = tag;
    return options;
  }
};

int plan_import(CliContext& ctx, const PlanFileArgs& args) {
  PlanImportRequest request{std::nullopt, fs::absolute(args.file).string(), args.force};
  if (!args.format.empty()) request.format = args.format;
  request.parallel = args.parallel;
  if (!args.tag.empty()) request.tag = args.tag;
  const auto answer = call(ctx.client(), request);
  const PlanImportResponse* imported = response_or_report(answer);
  if (!imported) return 1;
  std::cout << "Imported " << imported->imported << " tasks from " << args.file << "\n";
  return 0;
}

// The fields beyond id, title, status and dependencies that a plan gave `task`, as
// "    name: value" lines (task_to_json's names; instructions as their line count).
void print_fields(const Task& task) {
  static const std::set<std::string> kShown = {"id",           "description",    "status",
                                               "dependencies", "started_at",     "completed_at",
                                               "claimed_by",   "timeout_seconds"};
  const Json fields = task_to_json(task);
  for (const auto& [name, value] : fields.items()) {
    if (kShown.count(name)) continue;
    std::cout << "    " << name << ": ";
    if (name == "instructions") {
      const std::string& text = value.get_ref<const std::string&>();
      const auto lines = std::count(text.begin(), text.end(), '\n') + 1;
      std::cout << lines << (lines == 1 ? " line\n" : " lines\n");
      continue;
    }
    if (value.is_string()) {
      const std::string& text = value.get_ref<const std::string&>();
      const std::size_t end = text.find('\n');
      std::cout << text.substr(0, end) << (end == std::string::npos ? "" : " ...") << "\n";
      continue;
    }
    if (!value.is_array()) {
      std::cout << value.dump() << "\n";
      continue;
    }
    for (std::size_t i = 0; i < value.size(); ++i) {
      std::cout << (i ? ", " : "");
      if (!value[i].is_array()) {
        std::cout << (value[i].is_string() ? value[i].get<std::string>() : value[i].dump());
        continue;
      }
      for (std::size_t w = 0; w < value[i].size(); ++w)  // a command: its words
        std::cout << (w ? " " : "") << value[i][w].get<std::string>();
    }
    std::cout << "\n";
  }
}

void print_plan(const PlanFile& read) {
  std::cout << "format: " << to_string(read.format) << "\n";
  std::cout << "goal: " << read.plan.goal.value_or("(none)") << "\n";
  std::cout << "tasks: " << read.plan.workflow.tasks.size() << "\n";
  for (const Task& task : read.plan.workflow.tasks) {
    std::cout << "  " << task.id << ": " << task.description;
    if (task.status != TaskStatus::kPending) std::cout << " [" << to_string(task.status) << "]";
    std::cout << "\n    after: ";
    if (task.dependencies.empty()) std::cout << "(nothing)";
    for (std::size_t i = 0; i < task.dependencies.size(); ++i)
      std::cout << (i ? ", " : "") << task.dependencies[i];
    std::cout << "\n";
    print_fields(task);
  }
}

// Reads the plan here, without a daemon, and writes nothing. A bad plan is an Error: the CLI
// says "harness: ..." and exits 1, as for every verb.
int plan_validate(const PlanFileArgs& args) {
  print_plan(read_plan_in_format(args.file, args.options()));
  return 0;
}

void add_plan_file_options(CLI::App& verb, PlanFileArgs& args) {
  verb.add_option("--file,-f", args.file, "Plan file")->required()->check(CLI::ExistingFile);
  verb.add_option("--format", args.format,
                  "Plan format: " + plan_format_names() + " (default: detected from the content)")
      ->check(CLI::Validator(
          [](std::string& name) {
            try {
              parse_plan_format(name);
              return std::string();
            } catch (const Error& e) {
              return std::string(e.what());
            }
          },
          "FORMAT"));
  verb.add_flag("--parallel", args.parallel,
                "markdown without groups: tasks do not wait for the one before them");
  verb.add_option("--tag", args.tag,
                  "taskmaster: the tag whose tasks to read (default: " +
                      std::string(kDefaultTaskmasterTag) + ")");
}

void add_plan(CLI::App& app, CliContext& ctx, Action& action) {
  CLI::App* plan = app.add_subcommand("plan", "Plan operations");
  plan->require_subcommand(1);
  auto import_args = std::make_shared<PlanFileArgs>();
  CLI::App* import =
      add_verb(*plan, "import",
               "Import a plan file (" + plan_format_names() + "; see README, 'Plan formats')",
               action, [&ctx, import_args] { return plan_import(ctx, *import_args); });
  add_plan_file_options(*import, *import_args);
  import->add_flag("--force", import_args->force,
                   "Replace a workflow that still has unfinished tasks");
  auto validate_args = std::make_shared<PlanFileArgs>();
  CLI::App* validate = add_verb(
      *plan, "validate",
      "Read a plan file without importing it and print what was understood: format, goal, and "
      "each task's id, title, dependencies and the other fields the plan gave it",
      action, [validate_args] { return plan_validate(*validate_args); });
  add_plan_file_options(*validate, *validate_args);
  add_verb(*plan, "reset", "Remove the workflow, whatever its state (prints the reply envelope)",
           action, [&ctx] { return print_envelope(call(ctx.client(), PlanResetRequest{})); });
}

}  // namespace

void register_state_verbs(CLI::App& app, CliContext& ctx, Action& action) {
  add_command_verbs(app, kCommandVerbs, ctx, action);
  add_update_state(app, ctx, action);
  add_plan(app, ctx, action);
  register_plan_output_verbs(app, ctx, action);
}

}  // namespace harness
