// Worker identity (README.md): the id a worker claims and completes tasks under. Each
// parallel agent needs its own, and gets one by default: the id of the agent process it runs
// `harness` from (cli/agent_process.h), never an id shared by every agent of a user.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace harness {

struct WorkerIdentity {
  std::string id;
  std::string source;  // where it came from, for `harness worker-id --verbose`
};

// The identity set by the environment: $HARNESS_WORKER_ID if set and non-empty, else
// load_or_create_worker_id() of $HARNESS_WORKER_ID_FILE if set and non-empty; nullopt when
// neither is set. Throws Error as load_or_create_worker_id does.
std::optional<WorkerIdentity> configured_worker_identity();

// configured_worker_identity(), else the agent process's id (current_agent_process()).
// Throws Error when neither exists, asking for HARNESS_WORKER_ID rather than sharing an id.
WorkerIdentity resolve_worker_identity();
std::string resolve_worker_id();

// Returns the id stored in `file`, creating the file on first use with a fresh id of the form
// "worker-<8 hex digits>". Creation is atomic and race-free among threads and processes: the
// id is written and fsynced to a temporary file (O_EXCL, 0600) in the same directory, which
// is then link(2)ed to `file`; if that finds `file` already there, another process won and
// its id is returned. A missing parent directory is created with mode 0700.
//
// An existing `file` is trusted only if it is a regular file owned by the effective uid and
// not a symlink (symlinks are refused, never followed: the default lives in /tmp). It must
// hold one id, surrounded by optional whitespace, of 1 to 128 printable non-space ASCII
// characters. Anything else throws Error naming the path and the problem; the file is never
// silently replaced, since that would change the worker's identity under its running tasks.
std::string load_or_create_worker_id(const std::filesystem::path& file);

}  // namespace harness
