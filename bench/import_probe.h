// Importing a plan through the daemon: `plan_import` with a "file", the way a plan of any size
// gets in (an inline update_state is bound by the 1 MiB request limit).
#pragma once

#include <cstddef>
#include <filesystem>
#include <vector>

#include "core/json.h"
#include "plan_shape.h"

namespace harness::bench {

// Sends plan_import {"file": plan_file, "force": force} over a fresh connection and returns
// the round trip in milliseconds: the daemon reads, parses and validates the file and commits
// the tasks before it replies. Throws Error when the import fails or imports a different number
// of tasks than `expected_tasks`.
double import_plan_ms(const std::filesystem::path& socket, const std::filesystem::path& plan_file,
                      bool force, std::size_t expected_tasks);

struct ImportProbeResult {
  std::size_t plan_bytes = 0;
  std::vector<double> runs_ms;
};

// `runs` times: starts a daemon of its own on a fresh worktree and imports the plan of `spec`
// into it (the first import of a plan, the usual case). Throws Error on any failure.
ImportProbeResult run_import_probe(const std::filesystem::path& harness_binary,
                                   const PlanSpec& spec, int runs);

Json to_json(const ImportProbeResult& result);

}  // namespace harness::bench
