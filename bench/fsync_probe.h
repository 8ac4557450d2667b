// The disk's floor for one durable operation: how long `write 4 KiB + fdatasync` takes on the
// file system that holds the daemon's state (the worktrees live under /tmp).
#pragma once

#include <filesystem>

#include "latency.h"

namespace harness::bench {

struct FsyncProbeResult {
  LatencySummary latency;  // of each write + fdatasync
  double syncs_per_s = 0;  // all threads together
};

// Times `count` writes per thread, each appending 4 KiB to one scratch file in a fresh
// directory under `parent` followed by fdatasync (so the file grows, as a WAL does). With
// `threads` > 1 the threads write and sync at once, each its own blocks: whether the disk
// serves overlapping fsyncs faster than one after another. Throws Error::io.
FsyncProbeResult run_fsync_probe(const std::filesystem::path& parent, int count, int threads = 1);

}  // namespace harness::bench
