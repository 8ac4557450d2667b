// Reading a plan file the daemon was asked to import (plan_import `file`, the Python original's
// state file). The path comes from a client, so it may name anything: a FIFO that never gets a
// writer, /dev/zero, a directory, a file larger than memory. Only a regular file of at most
// kMaxPlanFileBytes is read, through a descriptor opened without blocking.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "core/task.h"

namespace harness {

// Far above any real plan (even one of a hundred thousand tasks with long instructions), and a
// bound on what a mistaken path (a disk image, a log) can make the daemon read.
inline constexpr std::size_t kMaxPlanFileBytes = std::size_t{256} << 20;

// The bytes of `file`. Throws Error::invalid naming the file and the problem: it cannot be
// opened ("No such file or directory", ...), is not a regular file ("is a FIFO"), or is larger
// than `max_bytes`. Never blocks on the file's kind (O_NONBLOCK) and follows no descriptor into
// a child (O_CLOEXEC).
std::string read_plan_file_text(const std::string& file, std::size_t max_bytes = kMaxPlanFileBytes);

// Turns a plan file's text into a workflow (not yet validated); throws Error::invalid.
using PlanParser = std::function<Workflow(const std::string& text)>;

// The validated workflow `file` holds, read by `parse` (by default any form workflow_from_json
// takes). Throws Error::invalid "plan file F: <problem>" for anything read_plan_file_text, the
// parser or validate_workflow refuses.
Workflow read_plan_file(const std::string& file, const PlanParser& parse = {});

}  // namespace harness
