#include "testing/pg_test_cluster.h"

#include <unistd.h>

#include <filesystem>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <random>
#include <stdexcept>

namespace harness::test_support {

namespace fs = std::filesystem;

namespace {

fs::path script() { return fs::path(HARNESS_SOURCE_DIR) / "scripts" / "pg-cluster"; }

std::string quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The cluster this process started, removed at exit.
struct OwnCluster {
  fs::path dir;
  OwnCluster() {
    std::string pattern = (fs::temp_directory_path() / "harness-pg-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir = pattern;
  }
  ~OwnCluster() {
    const std::string command = quoted(script()) + " destroy " + quoted(dir) + " >/dev/null 2>&1";
    [[maybe_unused]] int status = std::system(command.c_str());
  }
};

fs::path cluster_dir() {
  if (const char* dir = std::getenv("HARNESS_TEST_PG_DIR"); dir && *dir) return dir;
  static OwnCluster own;
  static std::once_flag started;
  std::call_once(started, [] {
    const std::string command =
        quoted(script()) + " start " + quoted(own.dir) + " --no-fsync >/dev/null";
    if (std::system(command.c_str()) != 0)
      throw std::runtime_error("cannot start a PostgreSQL cluster with " + script().string());
  });
  return own.dir;
}

}  // namespace

// What scripts/pg-cluster says: the cluster may live elsewhere than its directory (where the
// server's user can reach it).
std::string test_pg_url() {
  static const std::string url = [] {
    const std::string command = quoted(script()) + " url " + quoted(cluster_dir());
    std::string out;
    if (FILE* pipe = ::popen(command.c_str(), "r")) {
      char buffer[512];
      while (std::fgets(buffer, sizeof buffer, pipe)) out += buffer;
      ::pclose(pipe);
    }
    while (!out.empty() && out.back() == '\n') out.pop_back();
    if (out.empty()) throw std::runtime_error("scripts/pg-cluster url printed nothing");
    return out;
  }();
  return url;
}

std::string unique_plan_name() {
  static std::atomic<int> counter{0};
  static const std::uint64_t nonce = std::random_device{}();
  return "test-" + std::to_string(::getpid()) + "-" + std::to_string(nonce) + "-" +
         std::to_string(++counter);
}

}  // namespace harness::test_support
