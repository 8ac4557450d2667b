#include "cli/worktrees.h"

#include <algorithm>
#include <cctype>

#include "core/error.h"
#include "exec/git_guard.h"
#include "exec/subprocess.h"

namespace harness {

namespace fs = std::filesystem;

namespace {

// Runs `git ARGS` in `dir` with the caller's environment less the variables that would pick
// another repository, taking no optional lock. Returns stdout; throws Error::io on failure.
std::string read_git(const fs::path& dir, std::vector<std::string> args) {
  CommandSpec spec;
  spec.args = {"git"};
  spec.args.insert(spec.args.end(), args.begin(), args.end());
  spec.cwd = dir.string();
  spec.inherit_environment = false;
  for (auto& [name, value] : process_environment())
    if (!is_git_repository_variable(name)) spec.env[name] = value;
  spec.env["GIT_OPTIONAL_LOCKS"] = "0";
  spec.timeout = std::chrono::seconds(60);
  CommandResult result = run_command(spec);
  if (result.returncode != 0) {
    std::string said = result.stderr_text;
    while (!said.empty() && said.back() == '\n') said.pop_back();
    throw Error::io("`git " + args.front() + " " + (args.size() > 1 ? args[1] : "") + "` in " +
                    dir.string() + " failed: " + said);
  }
  return std::move(result.stdout_text);
}

}  // namespace

std::vector<WorktreeEntry> parse_worktree_list(std::string_view porcelain) {
  std::vector<WorktreeEntry> entries;
  while (!porcelain.empty()) {
    const std::size_t end = porcelain.find('\n');
    const std::string_view line = porcelain.substr(0, end);
    porcelain = end == std::string_view::npos ? std::string_view() : porcelain.substr(end + 1);
    const std::size_t space = line.find(' ');
    const std::string_view key = line.substr(0, space);
    const std::string_view value =
        space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
    if (key == "worktree") {
      entries.push_back(WorktreeEntry{fs::path(std::string(value))});
    } else if (entries.empty()) {
      continue;  // nothing before the first worktree line is ours
    } else if (key == "HEAD") {
      entries.back().head = value;
    } else if (key == "branch") {
      constexpr std::string_view kHeads = "refs/heads/";
      entries.back().branch = value.starts_with(kHeads) ? value.substr(kHeads.size()) : value;
    } else if (key == "bare") {
      entries.back().bare = true;
    } else if (key == "prunable") {
      entries.back().prunable = true;
    }
  }
  return entries;
}

std::vector<WorktreeEntry> list_worktrees(const fs::path& dir) {
  return parse_worktree_list(read_git(dir, {"worktree", "list", "--porcelain"}));
}

std::string worktree_changes(const fs::path& worktree) {
  return read_git(worktree, {"status", "--porcelain"});
}

void check_worktree_name(const std::string& name) {
  const bool allowed_chars = std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == '_' || c == '-';
  });
  if (name.empty() || !allowed_chars || name.front() == '.' || name.front() == '-' ||
      name.ends_with(".lock") || name.find("..") != std::string::npos)
    throw Error::invalid("'" + name +
                         "' cannot name a worktree: use letters, digits, '.', '_' and " +
                         "'-' (it becomes the branch name and part of the directory's)");
}

fs::path worktree_path_for(const fs::path& plan_worktree, const std::string& name) {
  return plan_worktree.parent_path() / (plan_worktree.filename().string() + "--" + name);
}

bool same_path(const fs::path& a, const fs::path& b) {
  std::error_code ignored;
  return fs::weakly_canonical(a, ignored) == fs::weakly_canonical(b, ignored);
}

}  // namespace harness
