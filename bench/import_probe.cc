#include "import_probe.h"

#include "connection.h"
#include "core/error.h"
#include "daemon_under_test.h"
#include "latency.h"
#include "temp_dir.h"

namespace harness::bench {

double import_plan_ms(const std::filesystem::path& socket, const std::filesystem::path& plan_file,
                      bool force, std::size_t expected_tasks) {
  Connection connection(socket, ConnectionMode::kPerRequest);
  const auto start = std::chrono::steady_clock::now();
  const Json data = call(
      connection, Json{{"command", "plan_import"}, {"file", plan_file.string()}, {"force", force}});
  const double ms = static_cast<double>(nanos_since(start)) / 1e6;
  // With force the daemon currently answers like update_state (the whole workflow) instead of
  // {"imported": N}; both are accepted so the figure stays comparable once that is fixed.
  const std::size_t imported =
      data.contains("imported") ? data.at("imported").get<std::size_t>() : data.at("tasks").size();
  if (imported != expected_tasks)
    throw Error::io("plan_import imported " + std::to_string(imported) + " tasks, expected " +
                    std::to_string(expected_tasks));
  return ms;
}

ImportProbeResult run_import_probe(const std::filesystem::path& harness_binary,
                                   const PlanSpec& spec, int runs) {
  TempDir dir;
  const std::filesystem::path plan_file = dir.path() / "plan.json";
  write_plan_file(make_workflow(spec), plan_file);
  ImportProbeResult result;
  result.plan_bytes = std::filesystem::file_size(plan_file);
  for (int i = 0; i < runs; ++i) {
    const std::filesystem::path run_dir = dir.path() / ("run" + std::to_string(i));
    std::filesystem::create_directory(run_dir);
    DaemonUnderTest daemon = DaemonUnderTest::start(harness_binary, run_dir);
    result.runs_ms.push_back(import_plan_ms(daemon.socket(), plan_file, false, spec.tasks));
    daemon.stop();
  }
  return result;
}

Json to_json(const ImportProbeResult& result) {
  return Json{{"probe", "import"},
              {"plan_bytes", result.plan_bytes},
              {"runs_ms", result.runs_ms},
              {"median_ms", median(result.runs_ms)}};
}

}  // namespace harness::bench
