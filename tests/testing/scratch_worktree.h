// A fresh git worktree for a test that runs the real daemon or CLI.
#pragma once

#include <filesystem>

namespace harness::test_support {

// A fresh directory under /tmp holding a git repository with one commit, and a short socket
// path beside it (a sockaddr_un holds little more than 100 bytes); removed with everything in
// it when the test ends.
class ScratchWorktree {
 public:
  ScratchWorktree();
  ~ScratchWorktree();
  ScratchWorktree(const ScratchWorktree&) = delete;
  ScratchWorktree& operator=(const ScratchWorktree&) = delete;

  const std::filesystem::path& path() const { return path_; }
  const std::filesystem::path& socket() const { return socket_; }

 private:
  std::filesystem::path root_, path_, socket_;
};

}  // namespace harness::test_support
