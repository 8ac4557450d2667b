// The `speckit` plan format: spec-kit's tasks.md (README, "Plan formats").
//
//   ## Phase 1: Setup                    (also "Phase 3.1", full-width colons)
//   - [ ] T001 Create the project
//   - [x] T002 [P] [US1] Model in src/models/user.py     ([x] or [X]: completed)
//
// Each task of phase N depends on every task of phase N-1 (the phase before it in the
// document); within a phase a [P] task depends on nothing else, any other task on the task
// listed just before it. A checkbox without a task id (T001) is not a task. Lines indented
// under a task are its instructions; fenced code is text.
#pragma once

#include <string>
#include <string_view>

#include "plan/parsed_plan.h"

namespace harness {

// Throws Error::invalid naming `source` (see fail_at), the line and what was expected: no task,
// a task id listed twice (naming both lines). The workflow is not validated.
ParsedPlan parse_speckit_plan(std::string_view text, const std::string& source);

// Whether `line` (outside code) is a task this format reads: format detection.
bool is_speckit_task_line(std::string_view line);

}  // namespace harness
