// The plan formats people write (src/plan/plan_format.h): the first byte picks the format (and
// markdown's --parallel: see check_plan), the rest is the file. Properties besides those of
// fuzz_check.h's check_workflow: a refusal names the file ("p line N: ..." or "p PATH: ..."); a
// plan that validates draws as a graph in both formats, and its markdown export, when export_plan
// does not refuse it, reads back to the same ids and dependencies. Seed corpus:
// corpus/fuzz_plan_format (the mode byte, then a plan of tests/plans).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "plan/plan_export.h"
#include "plan/plan_format.h"
#include "plan/plan_graph.h"

namespace {

using namespace harness;
using namespace harness::fuzz;

void check_markdown_round_trip(const Workflow& workflow) {
  std::string text;
  if (refused([&] { text = export_plan(workflow, PlanFormat::kMarkdown); })) return;
  ParsedPlan back;
  if (auto why = refused([&] { back = parse_plan(text, {PlanFormat::kMarkdown}, "export"); }))
    fail("a markdown export reads back", *why + "\nexported:\n" + text);
  FUZZ_CHECK(back.workflow.tasks.size() == workflow.tasks.size(), "same task count:\n" + text);
  for (std::size_t i = 0; i < workflow.tasks.size(); ++i) {
    FUZZ_CHECK(back.workflow.tasks[i].id == workflow.tasks[i].id, "same ids:\n" + text);
    FUZZ_CHECK(back.workflow.tasks[i].dependencies == workflow.tasks[i].dependencies,
               "same dependencies:\n" + text);
  }
}

void check_plan(std::string_view text, std::uint8_t mode) {
  const auto formats = plan_formats();
  PlanOptions options{formats[mode % formats.size()], (mode & 0x80) != 0};
  if (mode & 0x40) options.format.reset();  // detected
  if (mode & 0x20) options.tag = "feature";
  ParsedPlan plan;
  if (auto why = refused([&] { plan = parse_plan(text, options, "p"); })) {
    // json's errors are named by read_plan_file, which adds "plan file F: "; a detected
    // format may be json.
    if (options.format && options.format != PlanFormat::kJson)
      FUZZ_CHECK(why->rfind("p ", 0) == 0, "a refusal names the file: " + *why);
    return;
  }
  check_workflow(plan.workflow);
  if (refused([&] { validate_workflow(plan.workflow); })) return;
  plan_graph(plan.workflow, GraphFormat::kMermaid);
  plan_graph(plan.workflow, GraphFormat::kDot);
  check_markdown_round_trip(plan.workflow);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  must_not_throw("the plan formats throw only harness::Error", [&] { check_plan(text, data[0]); });
  return 0;
}
