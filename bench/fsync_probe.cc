#include "fsync_probe.h"

#include <fcntl.h>
#include <unistd.h>

#include <vector>

#include "core/error.h"
#include "temp_dir.h"

namespace harness::bench {

namespace {

constexpr std::size_t kBlock = 4096;

// Thread `thread` of `threads` writes blocks thread, thread + threads, ... so that together
// they append to the file in order.
std::vector<Nanos> time_appends(int fd, int count, int thread, int threads) {
  const std::vector<char> block(kBlock, 'x');
  std::vector<Nanos> samples;
  for (int i = 0; i < count; ++i) {
    const off_t offset = static_cast<off_t>(i * threads + thread) * kBlock;
    const auto start = std::chrono::steady_clock::now();
    if (::pwrite(fd, block.data(), block.size(), offset) != static_cast<ssize_t>(kBlock))
      throw Error::from_errno("pwrite");
    if (::fdatasync(fd) != 0) throw Error::from_errno("fdatasync");
    samples.push_back(nanos_since(start));
  }
  return samples;
}

FsyncProbeResult time_concurrent_appends(int fd, int count, int threads) {
  ThreadedSamples run = sample_on_threads(
      threads, [&](int thread) { return time_appends(fd, count, thread, threads); });
  const double syncs = static_cast<double>(run.samples.size());
  return FsyncProbeResult{summarize(std::move(run.samples)), syncs / run.seconds};
}

}  // namespace

FsyncProbeResult run_fsync_probe(const std::filesystem::path& parent, int count, int threads) {
  TempDir dir(parent);
  const std::filesystem::path file = dir.path() / "fsync.probe";
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw Error::from_errno("cannot create " + file.string());
  try {
    const FsyncProbeResult result = time_concurrent_appends(fd, count, threads);
    ::close(fd);
    return result;
  } catch (...) {
    ::close(fd);
    throw;
  }
}

}  // namespace harness::bench
