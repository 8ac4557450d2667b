#include "fsync_probe.h"

#include <fcntl.h>
#include <unistd.h>

#include <vector>

#include "core/error.h"
#include "temp_dir.h"

namespace harness::bench {

namespace {

constexpr std::size_t kBlock = 4096;

LatencySummary time_appends(int fd, int count) {
  const std::vector<char> block(kBlock, 'x');
  std::vector<Nanos> samples;
  for (int i = 0; i < count; ++i) {
    const auto start = std::chrono::steady_clock::now();
    if (::pwrite(fd, block.data(), block.size(), static_cast<off_t>(i) * kBlock) !=
        static_cast<ssize_t>(kBlock))
      throw Error::from_errno("pwrite");
    if (::fdatasync(fd) != 0) throw Error::from_errno("fdatasync");
    samples.push_back(nanos_since(start));
  }
  return summarize(std::move(samples));
}

}  // namespace

LatencySummary run_fsync_probe(const std::filesystem::path& parent, int count) {
  TempDir dir(parent);
  const std::filesystem::path file = dir.path() / "fsync.probe";
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw Error::from_errno("cannot create " + file.string());
  try {
    const LatencySummary result = time_appends(fd, count);
    ::close(fd);
    return result;
  } catch (...) {
    ::close(fd);
    throw;
  }
}

}  // namespace harness::bench
