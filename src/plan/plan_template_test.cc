#include "plan/plan_template.h"

#include <gtest/gtest.h>

#include "core/workflow.h"

namespace harness {
namespace {

// Every template is detected as its format, imports, and gives a valid DAG in which the later
// tasks wait for the first.
TEST(PlanTemplate, EachFormatsTemplateImportsAsThatFormat) {
  for (const PlanFormat format : plan_formats()) {
    const std::string_view text = plan_template(format);
    EXPECT_EQ(detect_plan_format(text, "plan"), format) << to_string(format);
    const ParsedPlan plan = parse_plan(text, {}, "template");
    validate_workflow(plan.workflow);
    ASSERT_GE(plan.workflow.tasks.size(), 3u) << to_string(format);
    EXPECT_FALSE(plan.workflow.tasks.back().dependencies.empty()) << to_string(format);
  }
}

}  // namespace
}  // namespace harness
