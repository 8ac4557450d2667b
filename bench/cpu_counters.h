// CPU time and context switches of a process, read before and after a measured phase, so that
// a throughput figure can be split into "where the CPU went": daemon vs client, user vs kernel,
// and how often threads handed work to each other.
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace harness::bench {

struct CpuCounters {
  double cpu_seconds = 0;   // on-CPU time of all threads (precise where the source allows)
  double user_seconds = 0;  // the user/kernel split (clock-tick resolution for other PIDs)
  double system_seconds = 0;
  std::uint64_t context_switches = 0;  // voluntary + involuntary, all threads
};

// Of process `pid` and its live threads, from /proc/PID/task/*/{schedstat,status} and
// /proc/PID/stat. Throws Error::io when /proc cannot be read (another machine's daemon).
CpuCounters process_cpu_counters(pid_t pid);

// Of this process, from getrusage(RUSAGE_SELF).
CpuCounters own_cpu_counters();

CpuCounters operator-(const CpuCounters& after, const CpuCounters& before);

}  // namespace harness::bench
