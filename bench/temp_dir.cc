#include "temp_dir.h"

#include <cstdlib>
#include <string>
#include <system_error>

#include "core/error.h"

namespace harness::bench {

TempDir::TempDir(const std::filesystem::path& parent) {
  std::string pattern = (parent / "harness-bench-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw Error::from_errno("cannot create " + pattern);
  path_ = pattern;
}

TempDir::~TempDir() {
  if (keep_) return;
  std::error_code ignored;  // a destructor has nobody to report to
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace harness::bench
