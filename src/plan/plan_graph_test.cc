#include "plan/plan_graph.h"

#include <gtest/gtest.h>

#include "plan/plan_queries_test.h"

namespace harness {
namespace {

Workflow sample() {
  Task a;
  a.id = "a";
  a.description = "Say \"hi\" <now>";
  a.status = TaskStatus::kCompleted;
  Task b;
  b.id = "b";
  b.description = std::string(70, 'x');
  b.dependencies = {"a"};
  b.status = TaskStatus::kRunning;
  return Workflow{{a, b}, std::nullopt};
}

TEST(PlanGraph, MermaidMarksStatusesWithClasses) {
  EXPECT_EQ(plan_graph(sample(), GraphFormat::kMermaid),
            "flowchart TD\n"
            "  n0[\"a: Say #quot;hi#quot; #lt;now#gt;\"]:::completed\n"
            "  n1[\"b: " +
                std::string(60, 'x') +
                "\xE2\x80\xA6\"]:::running\n"
                "  n0 --> n1\n"
                "  classDef pending fill:#f5f5f5,stroke:#999999\n"
                "  classDef running fill:#fff3c4,stroke:#cc9900\n"
                "  classDef completed fill:#d4f7d4,stroke:#339933\n"
                "  classDef failed fill:#fbd5d5,stroke:#cc3333\n");
}

TEST(PlanGraph, DotQuotesIdsAndLabels) {
  const std::string dot = plan_graph(sample(), GraphFormat::kDot);
  EXPECT_EQ(dot.rfind("digraph plan {\n", 0), 0u);
  EXPECT_NE(dot.find("  \"a\" [label=\"a: Say \\\"hi\\\" <now>\", fillcolor=\"#d4f7d4\", "
                     "color=\"#339933\", tooltip=\"completed\"];\n"),
            std::string::npos)
      << dot;
  EXPECT_NE(dot.find("  \"a\" -> \"b\";\n}\n"), std::string::npos) << dot;
}

TEST(PlanGraph, FormatNames) {
  EXPECT_EQ(parse_graph_format("dot"), GraphFormat::kDot);
  EXPECT_EQ(plan_test::refusal_of([] { parse_graph_format("svg"); }),
            "unknown graph format 'svg' (expected mermaid or dot)");
}

}  // namespace
}  // namespace harness
