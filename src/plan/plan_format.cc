#include "plan/plan_format.h"

#include "core/error.h"
#include "core/plan_file.h"
#include "plan/beads.h"
#include "plan/markdown.h"
#include "plan/plan_text.h"
#include "plan/speckit.h"
#include "plan/xml.h"

namespace harness {

namespace {

constexpr PlanFormat kFormats[] = {PlanFormat::kJson, PlanFormat::kMarkdown,   PlanFormat::kSpeckit,
                                   PlanFormat::kXml,  PlanFormat::kTaskmaster, PlanFormat::kBeads};

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

struct Detected {
  PlanFormat format;
  std::optional<Json> document;  // the JSON document, when detection had to parse it
};

// JSON Lines (beads), or one JSON document: taskmaster's or harness's own.
Detected detect_json(std::string_view text) {
  text = trim(text);
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text = trim(text.substr(3));
  const std::size_t end = text.find('\n');
  if (end != std::string_view::npos) {
    // Several lines, the first a whole JSON object: JSON Lines. (A document over several lines
    // has an incomplete first line, which fails to parse at once.)
    try {
      if (parse_json(text.substr(0, end)).is_object()) return {PlanFormat::kBeads, {}};
    } catch (const Error&) {
    }
  }
  try {
    Json document = parse_json(text);
    if (looks_like_beads_issue(document)) return {PlanFormat::kBeads, {}};
    const PlanFormat format =
        looks_like_taskmaster(document) ? PlanFormat::kTaskmaster : PlanFormat::kJson;
    return {format, std::move(document)};
  } catch (const Error&) {
    return {PlanFormat::kJson, {}};  // its parser says what is wrong
  }
}

Detected detect(std::string_view text, std::string_view file_name) {
  std::string_view start = trim(text.substr(0, 4096));
  if (start.substr(0, 3) == "\xEF\xBB\xBF") start = trim(start.substr(3));  // byte order mark
  if (ends_with(file_name, ".xml") || looks_like_xml_plan(text)) return {PlanFormat::kXml, {}};
  if (ends_with(file_name, ".jsonl")) return {PlanFormat::kBeads, {}};
  if (ends_with(file_name, ".json") || (!start.empty() && (start[0] == '{' || start[0] == '[')))
    return detect_json(text);
  bool speckit = false;
  for (const MarkdownLine& line : markdown_lines(text)) {
    if (line.in_code) continue;
    if (is_markdown_task_heading(line.text)) return {PlanFormat::kMarkdown, {}};
    speckit = speckit || is_speckit_task_line(line.text);
  }
  if (speckit) return {PlanFormat::kSpeckit, {}};
  if (ends_with(file_name, ".md") || ends_with(file_name, ".markdown"))
    return {PlanFormat::kMarkdown, {}};
  return {PlanFormat::kJson, {}};
}

ParsedPlan parse_as(Detected detected, std::string_view text, const PlanOptions& options,
                    const std::string& source) {
  switch (detected.format) {
    case PlanFormat::kMarkdown:
      require_utf8(text, source);
      return parse_markdown_plan(text, source, options.parallel);
    case PlanFormat::kSpeckit:
      require_utf8(text, source);
      return parse_speckit_plan(text, source);
    case PlanFormat::kXml:
      return parse_xml_plan(text, source);
    case PlanFormat::kBeads:
      return parse_beads_plan(text, source);
    case PlanFormat::kTaskmaster:
      if (detected.document)
        return taskmaster_plan_from_json(*detected.document, source, options.tag);
      return parse_taskmaster_plan(text, source, options.tag);
    case PlanFormat::kJson:
      break;
  }
  Workflow workflow =
      workflow_from_json(detected.document ? std::move(*detected.document) : parse_json(text));
  std::optional<std::string> goal = workflow.goal;
  return ParsedPlan{std::move(workflow), std::move(goal)};
}

// The plan in `text` and the format it was read as.
std::pair<ParsedPlan, PlanFormat> parse_in_format(std::string_view text, const PlanOptions& options,
                                                  const std::string& source,
                                                  std::string_view file_name) {
  Detected detected = options.format ? Detected{*options.format, {}} : detect(text, file_name);
  const PlanFormat format = detected.format;
  ParsedPlan plan = parse_as(std::move(detected), text, options, source);
  if (plan.goal && !plan.workflow.goal) plan.workflow.goal = plan.goal;
  return {std::move(plan), format};
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
    case PlanFormat::kXml:
      return "xml";
    case PlanFormat::kTaskmaster:
      return "taskmaster";
    case PlanFormat::kBeads:
      return "beads";
  }
  return "json";
}

std::span<const PlanFormat> plan_formats() { return kFormats; }

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
  return detect(text, file_name).format;
}

ParsedPlan parse_plan(std::string_view text, const PlanOptions& options,
                      const std::string& source) {
  return parse_in_format(text, options, source, source).first;
}

PlanFile read_plan_in_format(const std::string& file, const PlanOptions& options) {
  PlanFile result{{}, PlanFormat::kJson};
  result.plan.workflow = read_plan_file(file, [&](const std::string& text) {
    // The file is named by read_plan_file's "plan file F: " already.
    auto [plan, format] = parse_in_format(text, options, std::string(), file);
    result.format = format;
    result.plan.goal = std::move(plan.goal);
    return std::move(plan.workflow);
  });
  return result;
}

}  // namespace harness
