#include "testing/scratch_worktree.h"

#include <stdlib.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "exec/subprocess.h"

namespace harness::test_support {

namespace fs = std::filesystem;

namespace {

void git(const fs::path& dir, const std::vector<std::string>& args) {
  CommandSpec spec;
  spec.args = {"git", "-c", "user.name=test", "-c", "user.email=test@localhost"};
  spec.args.insert(spec.args.end(), args.begin(), args.end());
  spec.cwd = dir.string();
  if (run_command(spec).returncode != 0) throw std::runtime_error("git failed in " + dir.string());
}

}  // namespace

ScratchWorktree::ScratchWorktree() {
  char pattern[] = "/tmp/harness-it-XXXXXX";
  if (!::mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
  root_ = pattern;
  path_ = root_ / "repo";
  socket_ = root_ / "d.sock";
  fs::create_directory(path_);
  git(path_, {"init", "-q"});
  git(path_, {"commit", "-q", "--allow-empty", "-m", "initial"});
}

ScratchWorktree::~ScratchWorktree() {
  std::error_code ignored;
  fs::remove_all(root_, ignored);
}

}  // namespace harness::test_support
