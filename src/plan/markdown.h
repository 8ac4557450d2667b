// The `markdown` plan format: the writing-plans shape (README, "Plan formats").
//
//   **Goal:** Ship the thing.            (or a "## Goal" section)
//   ## Task 1: Title                     (or "### Task 1:"; ids are strings: 10a, 1.10)
//   body                                 -> the task's instructions
//   ## Parallel Groups                   ("Task Groups", "Parallel Execution" too)
//   | Task Group | Tasks |                ("| Group |" too), or "**Group 1:** Tasks 1-3" lines
//   | Group 1    | 1, 2  |
//
// Dependencies: groups run in numeric order (Group 10 after Group 9) and each task of group k+1
// depends on every task of group k; a task in no group depends on every task before it in the
// document (a review after the groups). Without any group, each task depends on the one before
// it, unless `parallel`. A task whose body has a line "**Depends on:** Task 2, Task 3" (or
// "**Depends on:** none") depends on exactly those tasks instead; that line is not part of its
// instructions. Headings, tables and goal lines inside fenced code are text.
#pragma once

#include <string>
#include <string_view>

#include "plan/parsed_plan.h"

namespace harness {

// Throws Error::invalid naming `source` (see fail_at), the line and what was expected: no task
// heading, a task id defined twice, a group or "Depends on" line naming a task no heading
// defines, a task in two groups. The workflow is not validated (validate_workflow).
ParsedPlan parse_markdown_plan(std::string_view text, const std::string& source, bool parallel);

// Whether `line` (outside code) is a task heading this format reads: format detection.
bool is_markdown_task_heading(std::string_view line);

}  // namespace harness
