// The `taskmaster` plan format: Taskmaster's tasks.json (README, "Plan formats").
//
//   {"master": {"tasks": [...], "metadata": {...}}, "feature-x": {...}}   tagged (--tag)
//   {"tasks": [...]}                                                      legacy
//
// A task: {"id": 1, "title", "description", "details", "testStrategy", "status", "priority",
// "dependencies": [1, "2"], "subtasks": [...]}. Ids are integers or strings. A subtask S of
// task P becomes task "P.S" (an id written "P.S" already is kept); its dependencies name siblings
// (2 or "2" -> "P.2") or any task by its full id ("1.3", "4"); it also waits for P's own
// dependencies when it names no sibling. P depends on all of its subtasks (it is done when they
// are). Mapping: title -> description, description and details -> instructions, testStrategy ->
// success_criteria, status "done" (or "completed") -> completed, priority critical/high/medium/low
// -> 2/1/0/-1.
#pragma once

#include <string>
#include <string_view>

#include "core/json.h"
#include "plan/parsed_plan.h"

namespace harness {

// The tag read when the plan names none.
inline constexpr std::string_view kDefaultTaskmasterTag = "master";

// Throws Error::invalid naming `source` and the JSON path of what is wrong ("master.tasks[2].id:
// expected a task id (a string or an integer), found true"), a tag the file does not have
// (listing the tags it has), or a dependency on a task the file does not define. The workflow
// is not validated.
ParsedPlan parse_taskmaster_plan(std::string_view text, const std::string& source,
                                 std::string_view tag = kDefaultTaskmasterTag);
ParsedPlan taskmaster_plan_from_json(const Json& document, const std::string& source,
                                     std::string_view tag = kDefaultTaskmasterTag);

// Whether a JSON document is shaped as Taskmaster writes it (tagged, or a "tasks" list whose
// tasks have a title, subtasks or an integer id): format detection.
bool looks_like_taskmaster(const Json& document);

}  // namespace harness
