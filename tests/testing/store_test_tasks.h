// The small helpers of the store suites (store_semantics_test.cc, sqlite_store_test.cc): tasks
// and workflows to store, a task found in what a store loads, an exception's message.
#pragma once

#include <gtest/gtest.h>

#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "core/task.h"

namespace harness::test_support {

// A pending task described "do <id>", depending on `deps`.
inline Task task(std::string id, std::vector<std::string> deps = {}) {
  Task t;
  t.id = std::move(id);
  t.description = "do " + t.id;
  t.dependencies = std::move(deps);
  return t;
}

inline Workflow workflow(std::vector<Task> tasks) { return Workflow{std::move(tasks)}; }

inline std::string rethrow_message(const std::exception_ptr& p) {
  try {
    std::rethrow_exception(p);
  } catch (const std::exception& e) {
    return e.what();
  }
  return {};
}

// A copy of the task `id` of `w` (a copy, so that it outlives a temporary workflow).
inline Task find(const std::optional<Workflow>& w, const std::string& id) {
  if (!w) {
    ADD_FAILURE() << "no workflow";
    return {};
  }
  for (const Task& t : w->tasks)
    if (t.id == id) return t;
  ADD_FAILURE() << "no task " << id;
  return {};
}

}  // namespace harness::test_support
