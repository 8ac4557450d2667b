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

ImportVia parse_import_via(std::string_view text) {
  if (text == "file") return ImportVia::kFile;
  if (text == "socket") return ImportVia::kSocket;
  if (text == "update-state") return ImportVia::kUpdateState;
  throw Error::invalid("unknown import route '" + std::string(text) +
                       "' (expected file, socket or update-state)");
}

namespace {

std::string_view to_string(ImportVia via) {
  switch (via) {
    case ImportVia::kFile:
      return "file";
    case ImportVia::kSocket:
      return "socket";
    case ImportVia::kUpdateState:
      return "update-state";
  }
  return "?";
}

// The request line that carries `workflow` itself, as the CLI sends it.
std::string inline_request(const Workflow& workflow, ImportVia via) {
  if (via == ImportVia::kUpdateState)
    return Json{{"command", "update_state"}, {"updates", workflow_to_json(workflow)}}.dump();
  return Json{{"command", "plan_import"}, {"tasks", workflow_to_json(workflow)}, {"force", false}}
      .dump();
}

// Sends the plan request `line` and returns the round trip in milliseconds, once the daemon
// has answered that it holds `expected_tasks` tasks.
double send_plan_ms(const std::filesystem::path& socket, const std::string& line,
                    std::size_t expected_tasks) {
  Connection connection(socket, ConnectionMode::kPerRequest);
  const auto start = std::chrono::steady_clock::now();
  const std::string reply = connection.round_trip(line);
  const double ms = static_cast<double>(nanos_since(start)) / 1e6;
  const Json envelope = parse_json(reply);
  if (envelope.value("status", "") != "ok")
    throw Error::io("the plan request failed: " + envelope.value("message", reply.substr(0, 300)));
  const Json& data = envelope.at("data");
  const std::size_t held =
      data.contains("imported") ? data.at("imported").get<std::size_t>() : data.at("tasks").size();
  if (held != expected_tasks)
    throw Error::io("the daemon holds " + std::to_string(held) + " tasks, expected " +
                    std::to_string(expected_tasks));
  return ms;
}

}  // namespace

ImportProbeResult run_import_probe(const std::filesystem::path& harness_binary,
                                   const PlanSpec& spec, int runs, ImportVia via) {
  TempDir dir;
  const Workflow workflow = make_workflow(spec);
  const std::filesystem::path plan_file = dir.path() / "plan.json";
  std::string line;
  ImportProbeResult result;
  result.via = via;
  if (via == ImportVia::kFile) {
    write_plan_file(workflow, plan_file);
    result.plan_bytes = std::filesystem::file_size(plan_file);
  } else {
    line = inline_request(workflow, via);
    result.plan_bytes = line.size();
  }
  for (int i = 0; i < runs; ++i) {
    const std::filesystem::path run_dir = dir.path() / ("run" + std::to_string(i));
    std::filesystem::create_directory(run_dir);
    DaemonUnderTest daemon = DaemonUnderTest::start(harness_binary, run_dir);
    result.runs_ms.push_back(via == ImportVia::kFile
                                 ? import_plan_ms(daemon.socket(), plan_file, false, spec.tasks)
                                 : send_plan_ms(daemon.socket(), line, spec.tasks));
    result.daemon_hwm_kb.push_back(daemon.memory().hwm_kb);
    daemon.stop();
  }
  return result;
}

Json to_json(const ImportProbeResult& result) {
  std::vector<double> hwm(result.daemon_hwm_kb.begin(), result.daemon_hwm_kb.end());
  return Json{{"probe", "import"},
              {"via", to_string(result.via)},
              {"plan_bytes", result.plan_bytes},
              {"runs_ms", result.runs_ms},
              {"median_ms", median(result.runs_ms)},
              {"daemon_hwm_kb", result.daemon_hwm_kb},
              {"median_hwm_kb", median(hwm)}};
}

}  // namespace harness::bench
