// What the CLI's verbs share: the global options (--socket, --worktree, --any-worktree) and
// what they resolve to. The options apply to this call only: they are handed to the resolvers
// (paths.h, client.h) as arguments and never exported, so a command that `exec` runs, or a
// later call in the same process (`python -m harness`), does not inherit them.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "cli/client.h"

namespace harness {

// The global options as CLI11 fills them; an empty value counts as not given.
struct GlobalFlags {
  std::string socket;
  std::string worktree;
  bool any_worktree = false;
};

// Resolves the worktree, socket and client options only when a verb first asks for them:
// `worker-id` and `log` must work without a daemon, `log` without a socket directory, and
// `hook` resolves the worktree after moving to its payload's directory.
class CliContext {
 public:
  GlobalFlags flags;

  // resolve_worktree with --worktree (the plan's worktree, after any binding); resolved once,
  // on the first call.
  const std::filesystem::path& worktree();

  // resolve_checkout with --worktree: the worktree the call is made in, whose HEAD is the
  // caller's and which a claim records.
  const std::filesystem::path& checkout();

  // The worktree the caller works in, which a claim records and whose HEAD a completion
  // carries: the cwd's checkout when it uses the same plan as this call (an agent in a bound
  // worktree with HARNESS_WORKTREE naming the plan's), else checkout().
  std::filesystem::path origin();

  // resolve_socket with --socket, for worktree().
  std::filesystem::path socket();

  // The options for one request to worktree()'s daemon: the socket from --socket or the
  // environment, a reply awaited for up to two minutes, a daemon started when none listens
  // (`autospawn`), and --any-worktree.
  ClientOptions client(bool autospawn = true);

 private:
  std::optional<std::filesystem::path> worktree_;
  std::optional<std::filesystem::path> checkout_;
};

}  // namespace harness
