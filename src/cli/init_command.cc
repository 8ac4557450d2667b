#include "cli/init_command.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <iterator>
#include <ostream>
#include <vector>

#include "cli/init_edits.h"
#include "core/error.h"
#include "exec/subprocess.h"

namespace harness {

namespace fs = std::filesystem;

namespace {

constexpr const char* kBlockBegin =
    "<!-- harness:begin (added by `harness init`; `harness init --uninstall` removes it) -->";
constexpr const char* kBlockEnd = "<!-- harness:end -->";
constexpr const char* kTomlBegin = "# harness:begin (added by `harness init --agent codex`)";
constexpr const char* kTomlEnd = "# harness:end";

std::string usage_block(bool with_hooks) {
  std::string text =
      "## Working through harness\n"
      "\n"
      "The work here is a shared plan of tasks that harness hands out, one at a time, to each "
      "agent. Your loop:\n"
      "\n"
      "1. Claim a task: the `claim` tool of the harness MCP server (or `harness task claim`).\n"
      "2. Do that task, and only it. Commit its work through harness: `harness git add FILES` "
      "and `harness git commit -m MESSAGE` (git calls are serialised between agents).\n"
      "3. `complete` it (or `harness task complete --id ID`). If you cannot finish, `fail` it "
      "with the reason, or `release` it for another agent.\n"
      "4. Claim again, until claim says `plan_complete`.\n"
      "\n"
      "Your worker id and lease are kept for you: never pass either. `heartbeat` renews the "
      "lease on long work; `status` and `show` tell you where the plan stands.";
  if (with_hooks)
    text +=
        " While you hold a task or have uncommitted work, the Stop hook keeps you going; after a "
        "compaction the SessionStart hook gives your assignment back.";
  return text + "\n";
}

// One file init may change, with its content before and after.
struct FileEdit {
  fs::path relative;
  FileText before, after;
  bool changes() const { return before != after; }
};

FileText read_file(const fs::path& file) {
  std::error_code error;
  if (!fs::exists(file, error)) return std::nullopt;
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error::io("cannot read " + file.string());
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const fs::path& worktree, const fs::path& relative, const FileText& text) {
  const fs::path file = worktree / relative;
  if (!text) {
    fs::remove(file);
    std::error_code ignored;  // .claude or .codex, when nothing else is left in it
    if (relative.has_parent_path()) fs::remove(worktree / relative.parent_path(), ignored);
    return;
  }
  fs::create_directories(file.parent_path());
  const fs::path temp = file.string() + ".harness-" + std::to_string(::getpid());
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << *text;
    if (!out.flush()) throw Error::io("cannot write " + temp.string());
  }
  std::error_code error;
  if (fs::exists(file, error)) fs::permissions(temp, fs::status(file).permissions(), error);
  fs::rename(temp, file);
}

// diff(1)'s unified diff of the two texts, labelled a/FILE and b/FILE.
std::string unified_diff(const FileEdit& e, const fs::path& scratch) {
  const fs::path old_file = scratch / "a", new_file = scratch / "b";
  std::ofstream(old_file, std::ios::binary) << e.before.value_or("");
  std::ofstream(new_file, std::ios::binary) << e.after.value_or("");
  CommandSpec spec;
  spec.args = {"diff",
               "-u",
               "--label",
               e.before ? "a/" + e.relative.string() : "/dev/null",
               "--label",
               e.after ? "b/" + e.relative.string() : "/dev/null",
               old_file.string(),
               new_file.string()};
  spec.timeout = std::chrono::seconds(30);
  const CommandResult result = run_command(spec);
  if (result.returncode > 1) throw Error::io("diff failed: " + result.stderr_text);
  return result.stdout_text;
}

std::vector<FileEdit> plan_edits(const fs::path& worktree, const InitOptions& o,
                                 const std::string& harness) {
  using Edit = std::function<FileText(const FileText&, const fs::path&)>;
  std::vector<std::pair<fs::path, Edit>> edits;
  const bool claude = o.agent == "claude";
  if (claude) {
    edits.emplace_back(".claude/settings.json", [&](const FileText& t, const fs::path& f) {
      return o.uninstall ? remove_claude_settings(t, f) : add_claude_settings(t, f, harness);
    });
    edits.emplace_back(".mcp.json", [&](const FileText& t, const fs::path& f) {
      return o.uninstall ? remove_mcp_server(t, f) : add_mcp_server(t, f, harness);
    });
  } else {
    edits.emplace_back(".codex/config.toml", [&](const FileText& t, const fs::path&) {
      return o.uninstall ? remove_marked_block(t, kTomlBegin, kTomlEnd)
                         : add_codex_server(t, harness);
    });
  }
  edits.emplace_back(claude ? "CLAUDE.md" : "AGENTS.md", [&](const FileText& t, const fs::path&) {
    return o.uninstall ? remove_marked_block(t, kBlockBegin, kBlockEnd)
                       : add_marked_block(t, kBlockBegin, kBlockEnd, usage_block(claude));
  });
  std::vector<FileEdit> planned;
  for (const auto& [relative, edit] : edits) {
    FileEdit e{relative, read_file(worktree / relative), std::nullopt};
    e.after = edit(e.before, worktree / relative);
    planned.push_back(std::move(e));
  }
  return planned;
}

}  // namespace

int run_init(const fs::path& worktree, const InitOptions& o, const std::string& harness,
             std::ostream& out) {
  if (o.agent != "claude" && o.agent != "codex")
    throw Error::invalid("unknown agent '" + o.agent + "' (expected claude or codex)");
  const std::vector<FileEdit> edits = plan_edits(worktree, o, harness);
  const bool any =
      std::any_of(edits.begin(), edits.end(), [](const FileEdit& e) { return e.changes(); });
  if (!any) {
    out << (o.uninstall ? "harness init: nothing of harness's to remove for " + o.agent
                        : "harness init: " + o.agent + " is already set up; nothing to change")
        << "\n";
    return 0;
  }
  if (o.dry_run) {
    char scratch_template[] = "/tmp/harness-init-XXXXXX";
    if (::mkdtemp(scratch_template) == nullptr) throw Error::from_errno("mkdtemp");
    const fs::path scratch = scratch_template;
    for (const FileEdit& e : edits)
      if (e.changes()) out << unified_diff(e, scratch);
    fs::remove_all(scratch);
    out << "harness init: dry run, nothing written\n";
    return 0;
  }
  for (const FileEdit& e : edits) {
    if (!e.changes()) continue;
    write_file(worktree, e.relative, e.after);
    out << "harness init: "
        << (!e.after    ? "removed "
            : !e.before ? "created "
                        : "updated ")
        << e.relative.string() << "\n";
  }
  return 0;
}

std::string harness_command() {
  std::error_code error;
  const fs::path self = fs::read_symlink("/proc/self/exe", error);
  if (error) return "harness";
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "";
  for (std::size_t start = 0; start <= dirs.size();) {
    std::size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    const fs::path candidate = fs::path(dirs.substr(start, end - start)) / "harness";
    start = end + 1;
    if (candidate.parent_path().empty() || ::access(candidate.c_str(), X_OK) != 0) continue;
    // The first one found is the one a hook's shell runs.
    return fs::equivalent(candidate, self, error) ? "harness" : self.string();
  }
  return self.string();
}

}  // namespace harness
