// Writing a workflow as a plan file that `plan import` reads back to the same tasks and edges
// (README, "Plan formats").
#pragma once

#include <string>

#include "core/task.h"
#include "plan/plan_format.h"

namespace harness {

// `workflow` as a plan in `format`:
//   json      workflow_to_json, indented: every field of every task, its state included;
//   markdown  "**Goal:**", then per task "## Task ID: Description", a "**Depends on:**" line
//             (Task 2, Task 3 or none) and its instructions. Status and task packets are not
//             written; the text is read back before it is returned, and a workflow it would
//             not give back (an id without a digit or with other characters than letters,
//             digits, '.', '_' and '-'; instructions holding what markdown reads as structure)
//             is refused, naming the task.
// Throws Error::invalid for the other formats too.
std::string export_plan(const Workflow& workflow, PlanFormat format);

}  // namespace harness
