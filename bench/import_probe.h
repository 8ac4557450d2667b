// Importing a plan through the daemon: `plan_import` with a "file", the way a plan of any size
// gets in, or the plan itself through the socket (plan_import with inline tasks, or
// update_state), as the CLI encodes it: up to the daemon's limit for plan requests.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string_view>
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

// How the plan reaches the daemon.
enum class ImportVia {
  kFile,         // plan_import {"file"}: the daemon reads it
  kSocket,       // plan_import {"tasks"}: the whole plan on the request line
  kUpdateState,  // update_state: the same, answered with the whole workflow
};

// Throws Error::invalid for anything but "file", "socket", "update-state".
ImportVia parse_import_via(std::string_view text);

struct ImportProbeResult {
  ImportVia via = ImportVia::kFile;
  std::size_t plan_bytes = 0;  // of the file, or of the request line
  std::vector<double> runs_ms;
  std::vector<long> daemon_hwm_kb;  // each run's daemon's peak resident memory, after the import
};

// `runs` times: starts a daemon of its own on a fresh worktree and imports the plan of `spec`
// into it `via` the file or the socket (the first import of a plan, the usual case). Throws
// Error on any failure.
ImportProbeResult run_import_probe(const std::filesystem::path& harness_binary,
                                   const PlanSpec& spec, int runs,
                                   ImportVia via = ImportVia::kFile);

Json to_json(const ImportProbeResult& result);

}  // namespace harness::bench
