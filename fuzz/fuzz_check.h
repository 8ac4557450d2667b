// Shared by the fuzz targets: how a broken property is reported, and the properties every
// workflow read from hostile JSON must have. harness::Error is the expected way to refuse
// input; any other exception, a sanitizer report or a failed FUZZ_CHECK is a finding, and
// libFuzzer saves the input that caused it.
#pragma once

#include <cxxabi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <typeinfo>

#include "core/clock.h"
#include "core/error.h"
#include "core/json.h"
#include "core/task.h"
#include "core/workflow.h"

namespace harness::fuzz {

[[noreturn]] inline void fail(const char* property, std::string_view detail) {
  std::fprintf(stderr, "\n==FUZZ== property violated: %s\n==FUZZ== %.*s\n", property,
               static_cast<int>(std::min<std::size_t>(detail.size(), 4000)), detail.data());
  std::fflush(stderr);
  std::abort();
}

#define FUZZ_CHECK(condition, detail) \
  ((condition) ? (void)0 : ::harness::fuzz::fail(#condition, (detail)))

inline std::string type_name(const std::type_info& type) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> name(
      abi::__cxa_demangle(type.name(), nullptr, nullptr, &status), std::free);
  return status == 0 && name ? name.get() : type.name();
}

// Runs `body`. harness::Error of kind kInvalidArgument is the documented refusal and is
// returned (as its message) to the caller; any other exception is a finding.
template <typename Body>
std::optional<std::string> refused(Body&& body) {
  try {
    body();
    return std::nullopt;
  } catch (const Error& e) {
    FUZZ_CHECK(e.kind() == Error::Kind::kInvalidArgument,
               std::string("harness::Error of unexpected kind: ") + e.what());
    return std::string(e.what());
  } catch (const std::exception& e) {
    fail("only harness::Error may escape", type_name(typeid(e)) + ": " + e.what());
  } catch (...) {
    fail("only harness::Error may escape", "an exception not derived from std::exception");
  }
}

// Runs `body`, inside which nothing may escape: not even harness::Error.
template <typename Body>
void must_not_throw(const char* what, Body&& body) {
  try {
    body();
  } catch (const std::exception& e) {
    fail(what, type_name(typeid(e)) + ": " + e.what());
  } catch (...) {
    fail(what, "an exception not derived from std::exception");
  }
}

// A time the daemon accepted is written back as format_iso8601(t) (get_state, state exports);
// both readers of that text must take it: parse_iso8601, giving t again, and the Python
// client's datetime.fromisoformat, which only knows the years 0001 to 9999.
inline void check_time(Micros t, const std::string& where) {
  const std::string text = format_iso8601(t);
  const std::string detail = where + ": format_iso8601(" + std::to_string(t) + ") = '" + text + "'";
  FUZZ_CHECK(parse_iso8601(text) == t, detail + " does not parse back");
  FUZZ_CHECK(text.size() == 32 && text.compare(0, 4, "0001") >= 0 &&
                 text.compare(0, 4, "9999") <= 0 && text[4] == '-',
             detail + " is outside the years 0001-9999 (Python's datetime cannot read it)");
}

// The checks the daemon's write path relies on (validate, then the dependency counts the store
// keeps), and the round trip: a workflow that validates is written out by workflow_to_json and
// must read back equal (get_state's output fed to update_state, or an exported state file
// imported again).
inline void check_workflow(const Workflow& workflow) {
  if (refused([&] { validate_workflow(workflow); })) return;

  const auto unmet = unmet_dependency_counts(workflow);
  FUZZ_CHECK(unmet.size() == workflow.tasks.size(), "one unmet count per task");
  for (std::size_t i = 0; i < unmet.size(); ++i)
    FUZZ_CHECK(unmet[i] >= 0 &&
                   unmet[i] <= static_cast<std::int64_t>(workflow.tasks[i].dependencies.size()),
               "unmet count out of range for task " + workflow.tasks[i].id);
  FUZZ_CHECK(count_statuses(workflow).total() == static_cast<std::int64_t>(workflow.tasks.size()),
             "status counts add up to the number of tasks");

  for (const Task& task : workflow.tasks) {
    for (const auto& t : {task.started_at, task.completed_at})
      if (t) check_time(*t, "task '" + task.id + "'");
    std::string direct;  // a claim reply's writer of the task
    append_task_json(direct, task);
    FUZZ_CHECK(direct == task_to_json(task).dump(-1, ' ', false, Json::error_handler_t::replace),
               "append_task_json writes what task_to_json dumps: " + direct);
  }

  const std::string text = workflow_to_json(workflow).dump();
  Workflow back;
  if (auto why = refused([&] { back = workflow_from_json(parse_json(text)); }))
    fail("workflow_to_json output reads back", *why + "\nserialised: " + text);
  FUZZ_CHECK(back == workflow, "round trip changed the workflow: " + text);
  if (auto why = refused([&] { validate_workflow(back); }))
    fail("a round-tripped workflow still validates", *why);
  FUZZ_CHECK(workflow_to_json(back).dump() == text, "serialisation is stable: " + text);
}

// A plan or state file as the daemon reads it (read_plan_file: workflow_from_json(parse_json)).
inline void check_workflow_json(const Json& doc) {
  Workflow workflow;
  if (refused([&] { workflow = workflow_from_json(doc); })) return;
  check_workflow(workflow);
}

inline void check_workflow_file(std::string_view text) {
  Json doc;
  if (refused([&] { doc = parse_json(text); })) return;
  check_workflow_json(doc);
}

}  // namespace harness::fuzz
