// The disk's floor for one durable operation: how long `write 4 KiB + fdatasync` takes on the
// file system that holds the daemon's state (the worktrees live under /tmp).
#pragma once

#include <filesystem>

#include "latency.h"

namespace harness::bench {

// Times `count` writes, each appending 4 KiB to a scratch file in a fresh directory under
// `parent` followed by fdatasync (so the file grows, as a WAL does). Throws Error::io.
LatencySummary run_fsync_probe(const std::filesystem::path& parent, int count);

}  // namespace harness::bench
