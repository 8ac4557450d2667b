// A private scratch directory (under /tmp by default) for one benchmark run, removed when done.
#pragma once

#include <filesystem>

namespace harness::bench {

class TempDir {
 public:
  // Creates PARENT/harness-bench-XXXXXX (mode 0700). Throws Error::io.
  explicit TempDir(const std::filesystem::path& parent = "/tmp");
  // Removes the directory and everything in it, unless keep() was called.
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // Leaves the directory in place, e.g. so that a failed run's daemon log can be read.
  void keep() { keep_ = true; }

 private:
  std::filesystem::path path_;
  bool keep_ = false;
};

}  // namespace harness::bench
