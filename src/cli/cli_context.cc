#include "cli/cli_context.h"

#include <chrono>

#include "cli/paths.h"
#include "cli/worktree_binding.h"

namespace harness {

namespace fs = std::filesystem;

namespace {

// How long a verb waits for its reply (exec and git wait as long as their command runs).
constexpr auto kStateReplyTimeout = std::chrono::seconds(120);

std::optional<fs::path> given(const std::string& flag) {
  if (flag.empty()) return std::nullopt;
  return fs::path(flag);
}

}  // namespace

const fs::path& CliContext::worktree() {
  if (!worktree_) worktree_ = plan_worktree_of(checkout());
  return *worktree_;
}

const fs::path& CliContext::checkout() {
  if (!checkout_) checkout_ = resolve_checkout(given(flags.worktree));
  return *checkout_;
}

fs::path CliContext::origin() {
  const fs::path here = resolve_checkout(fs::current_path());
  try {
    if (here != checkout() && plan_worktree_of(here) == worktree()) return here;
  } catch (const std::exception&) {
    // A binding that cannot be followed from the cwd: the call's own worktree stands.
  }
  return checkout();
}

fs::path CliContext::socket() { return resolve_socket(worktree(), given(flags.socket)); }

ClientOptions CliContext::client(bool autospawn) {
  ClientOptions options = client_options_from_env(worktree(), given(flags.socket));
  options.read_timeout = kStateReplyTimeout;
  options.autospawn = autospawn;
  if (flags.any_worktree) options.check_worktree = false;
  return options;
}

}  // namespace harness
