#include "plan/plan_graph.h"

#include <unordered_map>

#include "core/error.h"

namespace harness {

namespace {

constexpr std::size_t kLabelBytes = 60;

struct StatusStyle {
  TaskStatus status;
  const char* fill;
  const char* stroke;
};

constexpr StatusStyle kStyles[] = {
    {TaskStatus::kPending, "#f5f5f5", "#999999"},
    {TaskStatus::kRunning, "#fff3c4", "#cc9900"},
    {TaskStatus::kCompleted, "#d4f7d4", "#339933"},
    {TaskStatus::kFailed, "#fbd5d5", "#cc3333"},
};

const StatusStyle& style_of(TaskStatus status) {
  for (const StatusStyle& style : kStyles)
    if (style.status == status) return style;
  return kStyles[0];
}

// "ID: description", on one line and cut at a character boundary near kLabelBytes.
std::string label_of(const Task& task) {
  std::string text = task.description.substr(0, task.description.find('\n'));
  if (text.size() > kLabelBytes) {
    std::size_t cut = kLabelBytes;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text = text.substr(0, cut) + "\xE2\x80\xA6";
  }
  return text.empty() ? task.id : task.id + ": " + text;
}

// Mermaid's quoted labels take HTML entities written as #name;.
std::string mermaid_text(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (c == '"')
      out += "#quot;";
    else if (c == '<')
      out += "#lt;";
    else if (c == '>')
      out += "#gt;";
    else if (c == '#')
      out += "#35;";
    else if (c == '\r' || c == '\t')
      out += ' ';
    else
      out += c;
  }
  return out;
}

std::string dot_text(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += (c == '\r' || c == '\t') ? ' ' : c;
  }
  return out + "\"";
}

std::string mermaid_of(const Workflow& workflow) {
  std::string out = "flowchart TD\n";
  std::unordered_map<std::string, std::string> node;  // task id -> n<index>
  for (std::size_t i = 0; i < workflow.tasks.size(); ++i) {
    const Task& task = workflow.tasks[i];
    node.emplace(task.id, "n" + std::to_string(i));
    out += "  n" + std::to_string(i) + "[\"" + mermaid_text(label_of(task)) +
           "\"]:::" + std::string(to_string(task.status)) + "\n";
  }
  for (const Task& task : workflow.tasks)
    for (const std::string& dependency : task.dependencies)
      if (node.count(dependency)) out += "  " + node[dependency] + " --> " + node[task.id] + "\n";
  for (const StatusStyle& style : kStyles)
    out += "  classDef " + std::string(to_string(style.status)) + " fill:" + style.fill +
           ",stroke:" + style.stroke + "\n";
  return out;
}

std::string dot_of(const Workflow& workflow) {
  std::string out =
      "digraph plan {\n  rankdir=TB;\n  node [shape=box, style=\"rounded,filled\"];\n";
  for (const Task& task : workflow.tasks) {
    const StatusStyle& style = style_of(task.status);
    out += "  " + dot_text(task.id) + " [label=" + dot_text(label_of(task)) + ", fillcolor=\"" +
           style.fill + "\", color=\"" + style.stroke +
           "\", tooltip=" + dot_text(std::string(to_string(task.status))) + "];\n";
  }
  for (const Task& task : workflow.tasks)
    for (const std::string& dependency : task.dependencies)
      out += "  " + dot_text(dependency) + " -> " + dot_text(task.id) + ";\n";
  return out + "}\n";
}

}  // namespace

GraphFormat parse_graph_format(std::string_view name) {
  if (name == "mermaid") return GraphFormat::kMermaid;
  if (name == "dot") return GraphFormat::kDot;
  throw Error::invalid("unknown graph format '" + std::string(name) +
                       "' (expected mermaid or dot)");
}

std::string plan_graph(const Workflow& workflow, GraphFormat format) {
  return format == GraphFormat::kMermaid ? mermaid_of(workflow) : dot_of(workflow);
}

}  // namespace harness
