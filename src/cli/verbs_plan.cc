#include "cli/verbs_plan.h"

#include <iostream>

#include "core/error.h"
#include "plan/plan_export.h"
#include "plan/plan_format.h"
#include "plan/plan_graph.h"
#include "plan/plan_template.h"

namespace harness {

namespace {

// The live workflow, read through the daemon as get-state reads it; nullopt (said on stderr)
// when the daemon answered an error or there is no workflow.
std::optional<Workflow> live_workflow(CliContext& ctx) {
  const auto answer = call(ctx.client(), GetStateRequest{});
  const GetStateResponse* state = response_or_report(answer);
  if (!state) return std::nullopt;
  if (!state->workflow) std::cerr << "harness: no active workflow\n";
  return state->workflow;
}

CLI::Validator one_of(std::string formats) {
  return CLI::Validator(
      [formats](std::string& name) {
        for (std::string_view rest = formats; !rest.empty();) {
          const std::size_t bar = rest.find('|');
          if (rest.substr(0, bar) == name) return std::string();
          if (bar == std::string_view::npos) break;
          rest.remove_prefix(bar + 1);
        }
        return "unknown format '" + name + "' (expected " + formats + ")";
      },
      "FORMAT");
}

// "json|markdown|...".
std::string plan_format_alternatives() {
  std::string names;
  for (const PlanFormat format : plan_formats())
    names += (names.empty() ? "" : "|") + std::string(to_string(format));
  return names;
}

std::string format_of(const CLI::App& verb) {
  return verb.get_option("--format")->as<std::string>();
}

void add_graph_options(CLI::App& verb) {
  verb.add_option("--format", "Diagram format: mermaid or dot")
      ->default_val("mermaid")
      ->check(one_of("mermaid|dot"));
}

int run_graph(CliContext& ctx, const CLI::App& verb) {
  const GraphFormat format = parse_graph_format(format_of(verb));
  const std::optional<Workflow> workflow = live_workflow(ctx);
  if (!workflow) return 1;
  std::cout << plan_graph(*workflow, format);
  return 0;
}

void add_export_options(CLI::App& verb) {
  verb.add_option("--format",
                  "Plan format: json (every field and status) or markdown (tasks, "
                  "instructions and dependencies)")
      ->default_val("json")
      ->check(one_of("json|markdown"));
}

int run_export(CliContext& ctx, const CLI::App& verb) {
  const PlanFormat format = parse_plan_format(format_of(verb));
  const std::optional<Workflow> workflow = live_workflow(ctx);
  if (!workflow) return 1;
  std::cout << export_plan(*workflow, format);
  return 0;
}

constexpr CommandVerb kPlanVerbs[] = {
    {"plan graph", "Print the live plan's DAG (statuses marked): Mermaid flowchart or Graphviz DOT",
     run_graph, add_graph_options},
    {"plan export",
     "Print the live plan as a plan file that 'plan import' reads back to the same tasks and "
     "dependencies",
     run_export, add_export_options},
};

}  // namespace

void register_plan_output_verbs(CLI::App& app, CliContext& ctx, Action& action) {
  CLI::App& plan = *app.get_subcommand("plan");
  auto format = std::make_shared<std::string>("markdown");
  add_verb(plan, "template",
           "Print a small example plan in a format; it imports as it is (no daemon needed)", action,
           [format] {
             std::cout << plan_template(parse_plan_format(*format));
             return 0;
           })
      ->add_option("--format", *format, "Plan format: " + plan_format_names())
      ->capture_default_str()
      ->check(one_of(plan_format_alternatives()));
  add_command_verbs(app, kPlanVerbs, ctx, action);
}

}  // namespace harness
