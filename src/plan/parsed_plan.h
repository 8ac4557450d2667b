// What an importer understood from a plan file: the tasks, and what the plan says besides.
#pragma once

#include <optional>
#include <string>

#include "core/task.h"

namespace harness {

struct ParsedPlan {
  Workflow workflow;
  // The plan's goal ("**Goal:** ..." or a "## Goal" section). Shown by `plan validate`; not
  // stored yet.
  std::optional<std::string> goal;
};

}  // namespace harness
