// What `harness init` changes in an agent's configuration files (docs/agents.md, "Setting up"),
// as pure edits of a file's text: each takes the file's content (nullopt: the file does not
// exist) and returns the new content (nullopt: the file is to be removed). Adding what is
// already there changes nothing, so a second run is a no-op; removing takes out exactly what
// adding put in and leaves every key, hook, server and line of the user's.
//
// JSON is rewritten in the file's own style: the indent of its first indented line (two
// spaces for a new file), one line when it was one line, and its trailing newline. A file that
// is not what it should be (malformed JSON, "hooks" not an object, ...) throws Error::invalid
// naming `file` and, for bad JSON, the line and column; nothing is to be written then.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace harness {

using FileText = std::optional<std::string>;

// Adds to .claude/settings.json, under "hooks", a group {"hooks": [{"type": "command",
// "command": "<harness> hook <event>"}]} for each of SessionStart, Stop, SubagentStop and
// PreCompact that has no harness hook yet (a command ending in "harness hook <event>", whatever
// path precedes it), and "harness" to "enabledMcpjsonServers" (the user's approval of the
// .mcp.json server, so that each session starts it without asking).
FileText add_claude_settings(const FileText& settings, const std::filesystem::path& file,
                             const std::string& harness);
// Removes every harness hook command and the approval, then the groups, events, "hooks" and
// list they leave empty; the file goes when nothing else is left in it.
FileText remove_claude_settings(const FileText& settings, const std::filesystem::path& file);

// .mcp.json: {"mcpServers": {"harness": {"command": "<harness>", "args": ["mcp"]}}} unless a
// server named harness is there already.
FileText add_mcp_server(const FileText& mcp_json, const std::filesystem::path& file,
                        const std::string& harness);
// Removes the harness server when it is the one add_mcp_server writes (args ["mcp"]).
FileText remove_mcp_server(const FileText& mcp_json, const std::filesystem::path& file);

// Codex's .codex/config.toml: a [mcp_servers.harness] table between "# harness:begin" and
// "# harness:end" comment lines, appended unless the file declares that table already.
FileText add_codex_server(const FileText& config, const std::string& harness);

// A block between the markers `begin` and `end` (each a line of its own), appended after a
// blank line; a file that has the markers keeps its block as it is.
FileText add_marked_block(const FileText& text, const std::string& begin, const std::string& end,
                          const std::string& body);
// Removes the block and the blank line add_marked_block put before it; the file goes when
// nothing else is left.
FileText remove_marked_block(const FileText& text, const std::string& begin,
                             const std::string& end);

}  // namespace harness
