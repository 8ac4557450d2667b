#include "cli/git_head.h"

#include "exec/subprocess.h"

namespace harness {

std::optional<std::string> current_head(const std::filesystem::path& worktree) {
  CommandSpec spec;
  spec.args = {"git", "rev-parse", "--verify", "-q", "HEAD"};
  spec.cwd = worktree.string();
  spec.timeout = std::chrono::seconds(10);
  const CommandResult result = run_command(spec);
  if (result.returncode != 0) return std::nullopt;
  std::string head = result.stdout_text;
  while (!head.empty() && (head.back() == '\n' || head.back() == '\r')) head.pop_back();
  if (head.empty()) return std::nullopt;
  return head;
}

}  // namespace harness
