// What the importers' tests ask of a parsed plan: its ids in order, one task, and the message
// of a plan that is refused.
#pragma once

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "core/error.h"
#include "plan/parsed_plan.h"

namespace harness::plan_test {

using Ids = std::vector<std::string>;

inline const Task& task(const ParsedPlan& plan, const std::string& id) {
  for (const Task& t : plan.workflow.tasks)
    if (t.id == id) return t;
  throw std::runtime_error("no task " + id);
}

inline Ids ids(const ParsedPlan& plan) {
  Ids out;
  for (const Task& t : plan.workflow.tasks) out.push_back(t.id);
  return out;
}

// The message of the Error::invalid that `parse()` throws, or "no error".
template <typename Parse>
std::string refusal_of(Parse parse) {
  try {
    parse();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kInvalidArgument);
    return e.what();
  }
  return "no error";
}

}  // namespace harness::plan_test
