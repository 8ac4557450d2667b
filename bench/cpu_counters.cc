#include "cpu_counters.h"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

#include "core/error.h"

namespace harness::bench {

namespace {

std::ifstream open_proc(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw Error::io("cannot read " + file.string());
  return in;
}

// The first field of schedstat: nanoseconds this thread has run.
double thread_cpu_seconds(const std::filesystem::path& task) {
  std::ifstream in = open_proc(task / "schedstat");
  double ns = 0;
  in >> ns;
  return ns / 1e9;
}

std::uint64_t thread_context_switches(const std::filesystem::path& task) {
  std::ifstream in = open_proc(task / "status");
  std::uint64_t total = 0, value = 0;
  std::string key;
  while (in >> key) {
    if ((key == "voluntary_ctxt_switches:" || key == "nonvoluntary_ctxt_switches:") && in >> value)
      total += value;
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return total;
}

// utime and stime of /proc/PID/stat (fields 14 and 15, after the parenthesised name).
void add_user_system(pid_t pid, CpuCounters& counters) {
  std::ifstream in = open_proc("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(in, line);
  std::istringstream fields(line.substr(line.rfind(')') + 2));
  std::string skipped;
  for (int field = 3; field < 14; ++field) fields >> skipped;
  double utime = 0, stime = 0;
  fields >> utime >> stime;
  const auto ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  counters.user_seconds = utime / ticks;
  counters.system_seconds = stime / ticks;
}

double seconds(const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; }

}  // namespace

CpuCounters process_cpu_counters(pid_t pid) {
  CpuCounters counters;
  const std::filesystem::path tasks = "/proc/" + std::to_string(pid) + "/task";
  std::error_code error;
  for (const auto& task : std::filesystem::directory_iterator(tasks, error)) {
    counters.cpu_seconds += thread_cpu_seconds(task.path());
    counters.context_switches += thread_context_switches(task.path());
  }
  if (error) throw Error::io("cannot list " + tasks.string() + ": " + error.message());
  add_user_system(pid, counters);
  return counters;
}

CpuCounters own_cpu_counters() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  CpuCounters counters;
  counters.user_seconds = seconds(usage.ru_utime);
  counters.system_seconds = seconds(usage.ru_stime);
  counters.cpu_seconds = counters.user_seconds + counters.system_seconds;
  counters.context_switches = static_cast<std::uint64_t>(usage.ru_nvcsw + usage.ru_nivcsw);
  return counters;
}

CpuCounters operator-(const CpuCounters& after, const CpuCounters& before) {
  return {after.cpu_seconds - before.cpu_seconds, after.user_seconds - before.user_seconds,
          after.system_seconds - before.system_seconds,
          after.context_switches - before.context_switches};
}

}  // namespace harness::bench
