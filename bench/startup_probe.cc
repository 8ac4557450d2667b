#include "startup_probe.h"

#include <thread>

#include "connection.h"
#include "core/error.h"
#include "daemon_under_test.h"
#include "import_probe.h"
#include "latency.h"
#include "temp_dir.h"

namespace harness::bench {

namespace {

constexpr auto kRetryInterval = std::chrono::microseconds(100);

// Claims until the daemon answers; the milliseconds since `spawned`.
double first_claim_ms(DaemonUnderTest& daemon, std::chrono::steady_clock::time_point spawned,
                      const std::string& worker) {
  for (;;) {
    try {
      Connection connection(daemon.socket(), ConnectionMode::kPerRequest);
      const Json data = call(connection, Json{{"command", "task_claim"}, {"worker_id", worker}});
      const double ms = static_cast<double>(nanos_since(spawned)) / 1e6;
      if (data.at("task").is_null()) throw Error::io("the first claim found no task");
      return ms;
    } catch (const Error& e) {
      if (e.kind() != Error::Kind::kNotFound) throw;
    }
    daemon.check_alive();
    std::this_thread::sleep_for(kRetryInterval);
  }
}

}  // namespace

StartupProbeResult run_startup_probe(const std::filesystem::path& harness_binary,
                                     const PlanSpec& spec, int runs) {
  TempDir dir;
  const std::filesystem::path plan_file = dir.path() / "plan.json";
  write_plan_file(make_workflow(spec), plan_file);
  StartupProbeResult result;
  {
    DaemonUnderTest daemon = DaemonUnderTest::start(harness_binary, dir.path());
    result.import_ms = import_plan_ms(daemon.socket(), plan_file, false, spec.tasks);
    daemon.stop();
  }
  for (int i = 0; i < runs; ++i) {
    const auto spawned = std::chrono::steady_clock::now();
    DaemonUnderTest daemon = DaemonUnderTest::launch(harness_binary, dir.path());
    result.runs_ms.push_back(first_claim_ms(daemon, spawned, "startup-" + std::to_string(i)));
    daemon.stop();
  }
  return result;
}

Json to_json(const StartupProbeResult& result) {
  return Json{{"probe", "startup"},
              {"import_ms", result.import_ms},
              {"runs_ms", result.runs_ms},
              {"median_ms", median(result.runs_ms)}};
}

}  // namespace harness::bench
