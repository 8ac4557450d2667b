// The `beads` plan format: a beads issues.jsonl export, one issue a line (README, "Plan
// formats").
//
//   {"id":"bd-2","title":"...","description":"...","status":"open","priority":1,
//    "issue_type":"task","dependencies":[{"issue_id":"bd-2","depends_on_id":"bd-1",
//    "type":"blocks"}]}
//
// Only `blocks` dependencies order work (bd-2 waits for bd-1; a dependency without a type is
// `blocks`, as beads defaults it). Every other type (related, parent-child, discovered-from,
// supersedes, ...) is kept as metadata, never an edge: with the issue type (when not "task") and
// the labels it makes a last paragraph of the task's instructions ("beads: type bug; labels
// ui; related bd-3; parent-child bd-1"). Mapping: title -> description; description, design
// and notes -> instructions; acceptance_criteria -> success_criteria; status "closed" ->
// completed, anything else pending; priority 0..4 (P0 most urgent, P2 the default) -> 2..-2.
// A tombstone (a deleted issue) is not a task, and a dependency on one is dropped.
#pragma once

#include <string>
#include <string_view>

#include "core/json.h"
#include "plan/parsed_plan.h"

namespace harness {

// Throws Error::invalid naming `source` (see fail_at), the line, the field and what was
// expected: a line that is not a JSON object, an issue without id or listed twice (naming both
// lines), a blocks dependency on an issue the file does not hold. The workflow is not
// validated.
ParsedPlan parse_beads_plan(std::string_view text, const std::string& source);

// Whether `value` is shaped like a beads issue: an object with an "id" and a "title" or an
// "issue_type", and no "tasks". Format detection.
bool looks_like_beads_issue(const Json& value);

}  // namespace harness
