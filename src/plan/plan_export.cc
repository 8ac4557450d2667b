#include "plan/plan_export.h"

#include <algorithm>
#include <cctype>

#include "core/error.h"
#include "plan/markdown.h"

namespace harness {

namespace {

bool markdown_id(const std::string& id) {
  const auto allowed = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  };
  return std::all_of(id.begin(), id.end(), allowed) &&
         std::any_of(id.begin(), id.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }) &&
         id.back() != '.' && id.back() != '-';
}

std::string one_line(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  std::replace(text.begin(), text.end(), '\r', ' ');
  return text;
}

[[noreturn]] void not_markdown(const std::string& id, const std::string& why) {
  throw Error::invalid("cannot export task '" + id + "' as markdown: " + why +
                       "; export as json, which keeps every plan");
}

std::string markdown_of(const Workflow& workflow) {
  std::string out = "# Plan\n\n";
  if (workflow.goal) out += "**Goal:** " + one_line(*workflow.goal) + "\n\n";
  for (const Task& task : workflow.tasks) {
    if (!markdown_id(task.id))
      not_markdown(task.id,
                   "a markdown task id holds a digit and only letters, digits, '.', '_' and '-'");
    out += "## Task " + task.id + ": " + one_line(task.description) + "\n\n**Depends on:** ";
    if (task.dependencies.empty()) out += "none";
    for (std::size_t i = 0; i < task.dependencies.size(); ++i)
      out += (i ? ", Task " : "Task ") + task.dependencies[i];
    out += "\n\n";
    if (task.instructions) out += *task.instructions + "\n\n";
  }
  return out;
}

// Reads `text` back and refuses it unless it gives `workflow`'s tasks and edges.
void check_reads_back(const std::string& text, const Workflow& workflow) {
  Workflow back;
  try {
    back = parse_markdown_plan(text, "export", false).workflow;
  } catch (const Error& e) {
    not_markdown(workflow.tasks.empty() ? "" : workflow.tasks.front().id, e.what());
  }
  for (std::size_t i = 0; i < workflow.tasks.size(); ++i) {
    const Task& task = workflow.tasks[i];
    if (i >= back.tasks.size() || back.tasks[i].id != task.id ||
        back.tasks[i].dependencies != task.dependencies)
      not_markdown(task.id,
                   "the markdown does not read back the same here (a description or "
                   "instructions read as markdown structure)");
  }
  if (back.tasks.size() != workflow.tasks.size())
    not_markdown(back.tasks[workflow.tasks.size()].id,
                 "it comes from instructions that read as a '## Task' heading");
}

}  // namespace

std::string export_plan(const Workflow& workflow, PlanFormat format) {
  if (format == PlanFormat::kJson)
    return workflow_to_json(workflow).dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
  if (format != PlanFormat::kMarkdown)
    throw Error::invalid("cannot export a plan as " + std::string(to_string(format)) +
                         " (expected json or markdown)");
  if (workflow.tasks.empty())
    throw Error::invalid("cannot export a plan without tasks as markdown");
  std::string text = markdown_of(workflow);
  check_reads_back(text, workflow);
  return text;
}

}  // namespace harness
