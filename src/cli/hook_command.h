// `harness hook EVENT` (README.md): a Claude Code hook. Reads the hook payload on stdin and
// answers by Claude Code's hooks contract, reading the state database directly (a hook never
// starts or waits for a daemon):
//   session-start            → {"hookSpecificOutput": {"hookEventName": "SessionStart",
//                               "additionalContext": …}} (or {}), and `export
//                               HARNESS_WORKER_ID=…` appended to $CLAUDE_ENV_FILE when set;
//                               with source compact (after a pre-compact) or resume, the held
//                               task's whole assignment card (hooks.h session_context)
//   stop, subagent-stop      → {"decision": "block", "reason": …} while this session's worker
//                               holds a running task or its worktree has uncommitted changes
//                               (hooks.h stop_decision), else nothing
//   pre-compact              → nothing; keeps the held task and its card in a file of the
//                               state directory, which the next session-start consumes
// The session's workers: $HARNESS_WORKER_ID (or _FILE) when set; else the session's own id
// (claude-…, the one session-start exports), the agent process's (what its commands carry
// without $CLAUDE_ENV_FILE) and the MCP servers' recorded for that agent (mcp_workers.h).
// Never exit 2 (which Claude Code takes as a block): 0 for every answer above and for a
// malformed payload (noted on stderr: garbage never blocks); 1, a non-blocking error with the
// message on stderr, for an unknown event or state that cannot be read.
#pragma once

#include <filesystem>
#include <functional>
#include <iosfwd>
#include <string>

namespace harness {

// `worktree` is called after the process moved to the payload's cwd (when it names a
// directory), so that it resolves the session's worktree.
int run_hook(const std::string& event, std::istream& in, std::ostream& out, std::ostream& err,
             const std::function<std::filesystem::path()>& worktree);

}  // namespace harness
