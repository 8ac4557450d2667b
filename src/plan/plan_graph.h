// A workflow's DAG as a diagram: Mermaid (for Markdown viewers) or Graphviz DOT. Each task is
// a node labelled "ID: description" and coloured by its status; an edge goes from a task to
// each task that depends on it.
#pragma once

#include <string>
#include <string_view>

#include "core/task.h"

namespace harness {

enum class GraphFormat { kMermaid, kDot };

// "mermaid" or "dot"; throws Error::invalid naming both for anything else.
GraphFormat parse_graph_format(std::string_view name);

// Mermaid: a "flowchart TD" with one classDef per status (pending, running, completed,
// failed). DOT: a "digraph plan" with filled nodes. Descriptions longer than a line are cut
// there, with an ellipsis.
std::string plan_graph(const Workflow& workflow, GraphFormat format);

}  // namespace harness
