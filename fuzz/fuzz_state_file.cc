// The legacy state-file parser: at start-up the daemon imports W/.claude/dev-workflow-state.json,
// the Python original's state ({"tasks": {id: {..., "started_at": "2026-01-01T00:00:00",
// "completed_at": null, "claimed_by": null, "timeout_seconds": 600}}}), through the same
// workflow_from_json(parse_json(text)) as plan files. Its seed corpus
// (corpus/fuzz_state_file) is state files: running and completed tasks, every timestamp form
// parse_iso8601 takes, unknown fields. Beyond fuzz_check.h's properties, each timestamp string
// of the file is checked on its own, even when the rest of the file is refused: what
// parse_iso8601 accepts must come back out of format_iso8601 readable (check_time).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"

namespace harness::fuzz {
namespace {

void check_time_text(const std::string& text) {
  if (const auto t = parse_iso8601(text)) check_time(*t, "'" + text + "' is accepted, but");
}

// The time fields of every task-like object in the file, whatever else is wrong with it.
void check_times(const Json& doc) {
  const Json* tasks = doc.is_object() && doc.contains("tasks") ? &doc["tasks"] : &doc;
  if (!tasks->is_structured()) return;
  for (const Json& task : *tasks) {
    if (!task.is_object()) continue;
    for (const char* field : {"started_at", "completed_at"}) {
      auto it = task.find(field);
      if (it != task.end() && it->is_string()) check_time_text(it->get<std::string>());
    }
  }
}

}  // namespace
}  // namespace harness::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace harness;
  using namespace harness::fuzz;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  must_not_throw("the state-file parser throws only harness::Error", [&] {
    Json doc;
    if (refused([&] { doc = parse_json(text); })) return;
    check_times(doc);
    check_workflow_json(doc);
  });
  return 0;
}
