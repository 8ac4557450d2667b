// The _harness extension: the C++ core exposed to the harness Python package. Data crosses as
// JSON text so that the package stays a thin layer of types; every rule (validation, claim
// policy, storage) is the C++ one. Blocking calls release the GIL.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <memory>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/daemon_spawn.h"
#include "cli/worker_id.h"
#include "core/error.h"
#include "server/daemon.h"
#include "store/open_store.h"

namespace py = pybind11;
using namespace harness;

namespace {

std::optional<std::string> load_workflow(const std::filesystem::path& worktree) {
  py::gil_scoped_release unlocked;
  const OpenedStore opened = open_store({worktree, StoreConfig::Use::kRead});
  if (!opened.store) return std::nullopt;
  auto workflow = opened.store->load();
  if (!workflow) return std::nullopt;
  return workflow_to_json(*workflow).dump();
}

void save_workflow(const std::filesystem::path& worktree, const std::string& json_text) {
  py::gil_scoped_release unlocked;
  const Workflow workflow = workflow_from_json(parse_json(json_text));
  validate_workflow(workflow);  // before touching the disk: an invalid plan writes nothing
  open_store({worktree, StoreConfig::Use::kWrite})
      .store->replace_workflow(workflow, ReplaceMode::kAlways);
}

std::string send_rpc(const std::filesystem::path& socket, const std::string& request,
                     const std::optional<std::filesystem::path>& worktree) {
  py::gil_scoped_release unlocked;
  ClientOptions options = worktree ? client_options_from_env(*worktree) : ClientOptions{};
  options.socket = socket;
  if (!worktree) options.worktree.clear();
  return send_line(options, request);
}

// Owns a Daemon for Python; serve_forever runs it without the GIL.
class PyDaemon {
 public:
  PyDaemon(const std::filesystem::path& socket, const std::filesystem::path& worktree) {
    Daemon::Options options;
    options.socket_path = socket;
    options.worktree = std::filesystem::absolute(worktree);
    py::gil_scoped_release unlocked;
    daemon_ = std::make_unique<Daemon>(std::move(options));
  }

  void serve_forever() {
    py::gil_scoped_release unlocked;
    daemon_->run();
  }

  void shutdown() { daemon_->stop(); }

 private:
  std::unique_ptr<Daemon> daemon_;
};

}  // namespace

PYBIND11_MODULE(_harness, m) {
  m.doc() = "harness core (C++): daemon, store, client and CLI";

  static py::exception<Error> harness_error(m, "HarnessError", PyExc_RuntimeError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      if (e.kind() == Error::Kind::kInvalidArgument) {
        PyErr_SetString(PyExc_ValueError, e.what());
      } else {
        harness_error(e.what());
      }
    } catch (const DaemonNotRunning& e) {
      PyErr_SetString(PyExc_ConnectionRefusedError, e.what());
    }
  });

  m.def(
      "cli_main",
      [](const std::vector<std::string>& args) {
        py::gil_scoped_release unlocked;
        return run_cli(args);
      },
      "Run the harness CLI with these arguments; returns the exit status.");
  m.def("set_daemon_program", &set_daemon_program,
        "The harness binary that auto-spawned daemons run.");
  m.def("load_workflow", &load_workflow, "The worktree's workflow as JSON text, or None.");
  m.def("save_workflow", &save_workflow, "Validate and store a workflow given as JSON text.");
  m.def("send_rpc", &send_rpc, py::arg("socket_path"), py::arg("request"),
        py::arg("worktree") = py::none(),
        "Send one JSON request; starts a daemon for `worktree` when none listens.");
  m.def(
      "get_worker_id", [] { return resolve_worker_id(); },
      "This worker's id (see harness worker-id).");

  py::class_<PyDaemon>(m, "Daemon")
      .def(py::init<const std::filesystem::path&, const std::filesystem::path&>(),
           py::arg("socket_path"), py::arg("worktree"))
      .def("serve_forever", &PyDaemon::serve_forever)
      .def("shutdown", &PyDaemon::shutdown);
}
