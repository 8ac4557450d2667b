// Plan file formats (README, "Plan formats"): their names, telling them apart, and reading a
// plan in any of them.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "plan/parsed_plan.h"
#include "plan/taskmaster.h"

namespace harness {

enum class PlanFormat { kJson, kMarkdown, kSpeckit, kXml, kTaskmaster, kBeads };

// "json", "markdown", "speckit", "xml", "taskmaster", "beads".
std::string_view to_string(PlanFormat format);
// The format named `name` (as to_string writes it); throws Error::invalid listing the names.
PlanFormat parse_plan_format(std::string_view name);
// "json, markdown, speckit, ...": for help texts and errors.
std::string plan_format_names();
// Every format, in the order plan_format_names lists them.
std::span<const PlanFormat> plan_formats();

// The format of `text`, read from a file named `file_name`, first match wins:
//   xml         the text starts with '<', or the name ends in .xml;
//   beads       the name ends in .jsonl; or (as for the next two) the name ends in .json or the
//               text starts with { or [, and the first line is a whole JSON object with more
//               lines after it, or the document is one issue (an "id" and a "title" or
//               "issue_type");
//   taskmaster  the JSON document is tagged ({"master": {"tasks": [...]}}) or a "tasks" list
//               of Taskmaster tasks (with a title, subtasks, details or testStrategy, or an
//               integer id);
//   json        otherwise for such a name or text (its parser then says what is wrong);
//   markdown    a '## Task N:' heading outside fenced code;
//   speckit     a '- [ ] T001' task outside fenced code;
//   markdown    for a .md file, JSON otherwise.
PlanFormat detect_plan_format(std::string_view text, std::string_view file_name);

struct PlanOptions {
  std::optional<PlanFormat> format;  // detected when absent
  bool parallel = false;             // markdown: no implicit chain of tasks without groups
  std::string tag = std::string(kDefaultTaskmasterTag);  // taskmaster: the tag to read
};

// The plan `text` holds, read as `options` say. `source` names it in errors (see fail_at).
// The goal is the workflow's goal too. Throws Error::invalid; the workflow is not validated.
ParsedPlan parse_plan(std::string_view text, const PlanOptions& options, const std::string& source);

// What parse_plan reads from `file` (read_plan_file: only a regular file, of bounded size), with
// the workflow validated, and the format it was read as. Throws Error::invalid "plan file F:
// line N: ...".
struct PlanFile {
  ParsedPlan plan;
  PlanFormat format;
};
PlanFile read_plan_in_format(const std::string& file, const PlanOptions& options);

}  // namespace harness
