// Running a program from a test to its end, output captured: any program, or the real
// harness CLI pointed at a test's worktree and socket.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace harness::test_support {

struct RunResult {
  int status = -1;  // exit status, or -signal
  std::string out, err;
  bool timed_out = false;
};

// Runs `args` with `env` laid over this process's environment, in `cwd`, killed after
// `timeout`.
RunResult run_program(const std::vector<std::string>& args,
                      const std::map<std::string, std::string>& env = {},
                      const std::filesystem::path& cwd = "/",
                      std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Runs the harness binary with `args` in `worktree`, HARNESS_SOCKET and HARNESS_WORKTREE set
// for `socket` and `worktree`, plus `env`.
RunResult run_harness(const std::vector<std::string>& args, const std::filesystem::path& socket,
                      const std::filesystem::path& worktree,
                      const std::map<std::string, std::string>& env = {});

}  // namespace harness::test_support
