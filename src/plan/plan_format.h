// Plan file formats (README, "Plan formats"): their names, telling them apart, and reading a
// plan in any of them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "plan/parsed_plan.h"

namespace harness {

enum class PlanFormat { kJson, kMarkdown, kSpeckit };

// "json", "markdown", "speckit".
std::string_view to_string(PlanFormat format);
// The format named `name` (as to_string writes it); throws Error::invalid listing the names.
PlanFormat parse_plan_format(std::string_view name);
// "json, markdown, speckit": for help texts and errors.
std::string plan_format_names();

// The format of `text`, read from a file named `file_name`: JSON when the name ends in .json or
// the text starts with { or [; else markdown when a '## Task N:' heading is outside fenced
// code, speckit when a '- [ ] T001' task is; else markdown for a .md file, JSON otherwise (whose
// parser then says what is wrong).
PlanFormat detect_plan_format(std::string_view text, std::string_view file_name);

struct PlanOptions {
  std::optional<PlanFormat> format;  // detected when absent
  bool parallel = false;             // markdown: no implicit chain of tasks without groups
};

// The plan `text` holds, read as `options` say. `source` names it in errors (see fail_at).
// Throws Error::invalid; the workflow is not validated.
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
