// `harness init [--agent claude|codex] [--dry-run] [--uninstall]` (docs/agents.md): sets a
// repository up for an agent, through the edits of init_edits.h.
//   claude: hooks in .claude/settings.json, the MCP server in .mcp.json, the block in CLAUDE.md
//   codex:  the MCP server in .codex/config.toml, the block in AGENTS.md
// Every edit is worked out before anything is written, so a file that cannot be read or parsed
// stops the whole run with nothing written. Files are replaced atomically.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <string>

namespace harness {

struct InitOptions {
  std::string agent = "claude";
  bool dry_run = false;    // print the unified diff of every change, write nothing
  bool uninstall = false;  // remove what init adds
};

// Sets up (or with `uninstall`, undoes) `worktree` for the agent; `harness` is the command the
// hooks and the MCP configuration run. Prints what it changed, or that nothing needed to, on
// `out`; returns 0. Throws Error for an unknown agent or a file it cannot read, parse or write.
int run_init(const std::filesystem::path& worktree, const InitOptions& options,
             const std::string& harness, std::ostream& out);

// The command to configure: "harness" when the `harness` found on PATH is this very program,
// else this program's absolute path.
std::string harness_command();

}  // namespace harness
