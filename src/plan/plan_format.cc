#include "plan/plan_format.h"

#include "core/error.h"
#include "core/plan_file.h"
#include "plan/markdown.h"
#include "plan/plan_text.h"
#include "plan/speckit.h"

namespace harness {

namespace {

constexpr PlanFormat kFormats[] = {PlanFormat::kJson, PlanFormat::kMarkdown, PlanFormat::kSpeckit};

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

}  // namespace

std::string_view to_string(PlanFormat format) {
  switch (format) {
    case PlanFormat::kJson:
      return "json";
    case PlanFormat::kMarkdown:
      return "markdown";
    case PlanFormat::kSpeckit:
      return "speckit";
  }
  return "json";
}

std::string plan_format_names() {
  std::string names;
  for (const PlanFormat format : kFormats)
    names += (names.empty() ? "" : ", ") + std::string(to_string(format));
  return names;
}

PlanFormat parse_plan_format(std::string_view name) {
  for (const PlanFormat format : kFormats)
    if (to_string(format) == name) return format;
  throw Error::invalid("unknown plan format '" + std::string(name) + "' (expected one of " +
                       plan_format_names() + ")");
}

PlanFormat detect_plan_format(std::string_view text, std::string_view file_name) {
  std::string_view start = trim(text.substr(0, 4096));
  if (start.substr(0, 3) == "\xEF\xBB\xBF") start = trim(start.substr(3));  // byte order mark
  if (ends_with(file_name, ".json") || (!start.empty() && (start[0] == '{' || start[0] == '[')))
    return PlanFormat::kJson;
  bool speckit = false;
  for (const MarkdownLine& line : markdown_lines(text)) {
    if (line.in_code) continue;
    if (is_markdown_task_heading(line.text)) return PlanFormat::kMarkdown;
    speckit = speckit || is_speckit_task_line(line.text);
  }
  if (speckit) return PlanFormat::kSpeckit;
  if (ends_with(file_name, ".md") || ends_with(file_name, ".markdown"))
    return PlanFormat::kMarkdown;
  return PlanFormat::kJson;
}

ParsedPlan parse_plan(std::string_view text, const PlanOptions& options,
                      const std::string& source) {
  switch (options.format ? *options.format : detect_plan_format(text, source)) {
    case PlanFormat::kMarkdown:
      return parse_markdown_plan(text, source, options.parallel);
    case PlanFormat::kSpeckit:
      return parse_speckit_plan(text, source);
    case PlanFormat::kJson:
      break;
  }
  return ParsedPlan{workflow_from_json(parse_json(text)), std::nullopt};
}

PlanFile read_plan_in_format(const std::string& file, const PlanOptions& options) {
  PlanFile result{{}, PlanFormat::kJson};
  result.plan.workflow = read_plan_file(file, [&](const std::string& text) {
    PlanOptions chosen = options;
    if (!chosen.format) chosen.format = detect_plan_format(text, file);
    result.format = *chosen.format;
    // The file is named by read_plan_file's "plan file F: " already.
    ParsedPlan plan = parse_plan(text, chosen, std::string());
    result.plan.goal = std::move(plan.goal);
    return std::move(plan.workflow);
  });
  return result;
}

}  // namespace harness
