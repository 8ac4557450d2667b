// What `harness worktree` reads of a repository's worktrees, with git run here, read-only
// (`git worktree list --porcelain`, `git status --porcelain` with GIT_OPTIONAL_LOCKS=0: no lock
// taken, nothing written), and where a new worktree goes.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace harness {

struct WorktreeEntry {
  std::filesystem::path path;
  std::string head;    // the commit checked out; empty in a new repository
  std::string branch;  // "name" of refs/heads/name; empty when detached
  bool bare = false;
  bool prunable = false;  // its directory is gone (git worktree prune would drop it)
};

// The entries of `git worktree list --porcelain` output, the main worktree first.
std::vector<WorktreeEntry> parse_worktree_list(std::string_view porcelain);

// The worktrees of the repository `dir` is in. Throws Error::io (with git's message) when git
// fails, e.g. outside a repository.
std::vector<WorktreeEntry> list_worktrees(const std::filesystem::path& dir);

// `git status --porcelain` of `worktree`: what is modified, staged or untracked, one path a
// line; empty when it is clean. Throws Error::io when git fails.
std::string worktree_changes(const std::filesystem::path& worktree);

// Throws Error::invalid unless `name` can be a branch and a directory name: letters, digits,
// '.', '_' and '-', not starting with '.' or '-', not ending with ".lock".
void check_worktree_name(const std::string& name);

// Where `harness worktree add NAME` puts a worktree of the plan of `plan_worktree`: beside it,
// as `<parent>/<its name>--NAME`.
std::filesystem::path worktree_path_for(const std::filesystem::path& plan_worktree,
                                        const std::string& name);

// Whether two paths name the same directory (symlinks resolved as far as they exist).
bool same_path(const std::filesystem::path& a, const std::filesystem::path& b);

}  // namespace harness
