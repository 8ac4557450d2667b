#include "exec/git_guard.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <span>
#include <string_view>
#include <utility>

#include "core/error.h"

namespace harness {

namespace {

using Args = std::span<const std::string>;

[[noreturn]] void refuse(std::string_view what, std::string_view name, std::string_view why) {
  throw Error::invalid("git " + std::string(what) + " '" + std::string(name) +
                       "' is not allowed: " + std::string(why));
}

[[noreturn]] void refuse_option(std::string_view option, std::string_view why) {
  refuse("option", option, why);
}

bool contains(std::string_view letters, char c) {
  return letters.find(c) != std::string_view::npos;
}

bool is_one_of(std::span<const std::string_view> list, std::string_view s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

bool is_end_of_options(std::string_view arg) { return arg == "--" || arg == "--end-of-options"; }

// "upload-pack" for "--upload-pack=x"; empty for anything that is not a long option.
std::string_view long_name(std::string_view arg) {
  if (arg.size() < 3 || !arg.starts_with("--")) return {};
  arg.remove_prefix(2);
  return arg.substr(0, arg.find('='));
}

// git's option parser takes any unambiguous prefix of a long option ("--upl" for
// "--upload-pack"). Counting every prefix errs on the safe side: git rejects ambiguous ones.
bool abbreviates(std::string_view typed, std::string_view option) {
  return !typed.empty() && option.starts_with(typed);
}

// ---- Per-subcommand option rules -------------------------------------------------------------

enum class Danger {
  kAlways,         // refused whatever its value
  kSlashInValue,   // takes a value; refused when the value contains '/'
  kAttachedValue,  // takes an optional value, which must be attached; refused when given one
};

struct LongRule {
  std::string_view name;
  Danger danger;
  std::string_view why;
  // Also every longer name starting with `name` (shell scripts matching "--tool*"), except
  // `exempt`.
  bool longer_names_too = false;
  std::string_view exempt = {};
};

struct ShortRule {
  char letter;
  Danger danger;
  std::string_view why;
};

// How a subcommand's harmless options take values, so that a value is never mistaken for an
// option. Only what `git <cmd> -h` shows: a letter wrongly listed here could hide the next
// argument from the check, while a missing one only makes the check stricter.
struct Syntax {
  std::string_view value_shorts = {};              // -X <value> or -X<value>
  std::string_view optional_shorts = {};           // -X[<value>], attached only
  std::vector<std::string_view> value_longs = {};  // --name <value> (exact names)
};

struct OptionRules {
  Syntax syntax = {};
  std::vector<LongRule> longs = {};
  std::vector<ShortRule> shorts = {};
};

bool matches(std::string_view typed, const LongRule& rule) {
  if (abbreviates(typed, rule.name)) return true;
  return rule.longer_names_too && typed.starts_with(rule.name) && typed != rule.exempt;
}

// Applies a value-dependent rule to `value`, shown in the refusal as `shown`.
void check_value(const std::string& shown, std::string_view value, std::string_view why) {
  if (value.find('/') != std::string_view::npos) refuse_option(shown, why);
}

// Checks the long option at args[i]; returns how many following arguments it consumed (0, 1).
size_t check_long_option(Args args, size_t i, const OptionRules& rules) {
  const std::string& arg = args[i];
  const std::string_view name = long_name(arg);
  const size_t eq = arg.find('=');
  const bool attached = eq != std::string::npos;
  const std::string option = "--" + std::string(name);
  for (const LongRule& rule : rules.longs) {
    if (!matches(name, rule)) continue;
    switch (rule.danger) {
      case Danger::kAlways:
        refuse_option(option, rule.why);
      case Danger::kAttachedValue:
        if (attached) refuse_option(arg, rule.why);
        return 0;
      case Danger::kSlashInValue:
        if (attached) {
          check_value(arg, std::string_view(arg).substr(eq + 1), rule.why);
          return 0;
        }
        if (i + 1 < args.size()) {
          check_value(option + " " + args[i + 1], args[i + 1], rule.why);
          return 1;
        }
        return 0;
    }
  }
  const bool takes_value = is_one_of(rules.syntax.value_longs, name);
  return !attached && takes_value && i + 1 < args.size() ? 1 : 0;
}

const ShortRule* find_short_rule(const OptionRules& rules, char letter) {
  for (const ShortRule& rule : rules.shorts) {
    if (rule.letter == letter) return &rule;
  }
  return nullptr;
}

// Checks the cluster of short options at args[i] ("-qu prog"); returns how many following
// arguments it consumed (0, 1).
size_t check_short_options(Args args, size_t i, const OptionRules& rules) {
  const std::string& arg = args[i];
  for (size_t j = 1; j < arg.size(); ++j) {
    const char letter = arg[j];
    const std::string_view rest = std::string_view(arg).substr(j + 1);
    const std::string option = std::string("-") + letter;
    const bool next_exists = i + 1 < args.size();
    if (const ShortRule* rule = find_short_rule(rules, letter)) {
      switch (rule->danger) {
        case Danger::kAlways:
          refuse_option(option, rule->why);
        case Danger::kAttachedValue:
          if (!rest.empty()) refuse_option(option + std::string(rest), rule->why);
          return 0;
        case Danger::kSlashInValue:
          if (!rest.empty()) {
            check_value(option + std::string(rest), rest, rule->why);
            return 0;
          }
          if (next_exists) check_value(option + " " + args[i + 1], args[i + 1], rule->why);
          return next_exists ? 1 : 0;
      }
    }
    if (contains(rules.syntax.value_shorts, letter)) return rest.empty() && next_exists ? 1 : 0;
    if (contains(rules.syntax.optional_shorts, letter)) return 0;
  }
  return 0;
}

void check_options(Args args, const OptionRules& rules) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (is_end_of_options(arg)) return;
    if (arg.starts_with("--")) {
      i += check_long_option(args, i, rules);
    } else if (arg.size() > 1 && arg[0] == '-') {
      i += check_short_options(args, i, rules);
    }
  }
}

constexpr std::string_view kRunsUploadPack =
    "it names the program git runs for the other side of the transfer (run locally through a "
    "shell when the repository is local)";
constexpr std::string_view kSetsConfig =
    "it sets git configuration, which can name programs to run (core.pager, core.sshCommand, "
    "core.fsmonitor, alias.*, ...)";
constexpr std::string_view kTemplate =
    "it copies hooks from a directory of the caller's choice, and git runs them";
constexpr std::string_view kStrategy =
    "git runs git-merge-<strategy>, and a strategy containing '/' makes that a path to any "
    "program";
constexpr std::string_view kTool =
    "a tool name containing '/' makes git's shell code source a file of the caller's choice";

// The subcommands with options to refuse, and how their other options take values.
const std::map<std::string_view, OptionRules>& option_rules() {
  constexpr std::string_view kRunsShellCommand = "it runs a shell command after each commit";
  constexpr std::string_view kRunsExtcmd = "it runs the given command on every changed file";
  constexpr std::string_view kRunsPager = "it runs the given program on the matching files";
  static const auto* const rules = new std::map<std::string_view, OptionRules>{
      {"clone",
       {.syntax = {.value_shorts = "jobuc",
                   .value_longs = {"jobs", "template", "reference", "reference-if-able", "origin",
                                   "branch", "upload-pack", "depth", "shallow-since",
                                   "shallow-exclude", "separate-git-dir", "config", "server-option",
                                   "filter", "bundle-uri"}},
        .longs = {{"upload-pack", Danger::kAlways, kRunsUploadPack},
                  {"config", Danger::kAlways, kSetsConfig},
                  {"template", Danger::kAlways, kTemplate}},
        .shorts = {{'u', Danger::kAlways, kRunsUploadPack}, {'c', Danger::kAlways, kSetsConfig}}}},
      {"init",
       {.syntax = {.value_shorts = "b",
                   .value_longs = {"template", "separate-git-dir", "initial-branch",
                                   "object-format"}},
        .longs = {{"template", Danger::kAlways, kTemplate}}}},
      {"rebase",
       {.syntax = {.value_shorts = "CX",
                   .optional_shorts = "Sr",
                   .value_longs = {"onto", "whitespace", "empty", "strategy-option"}},
        .longs = {{"exec", Danger::kAlways, kRunsShellCommand},
                  {"strategy", Danger::kSlashInValue, kStrategy}},
        .shorts = {{'x', Danger::kAlways, kRunsShellCommand},
                   {'s', Danger::kSlashInValue, kStrategy}}}},
      {"merge",
       {.syntax = {.value_shorts = "XmF",
                   .optional_shorts = "S",
                   .value_longs = {"cleanup", "strategy-option", "message", "file", "into-name"}},
        .longs = {{"strategy", Danger::kSlashInValue, kStrategy}},
        .shorts = {{'s', Danger::kSlashInValue, kStrategy}}}},
      {"pull",
       {.syntax = {.value_shorts = "Xo",
                   .optional_shorts = "rSj",
                   .value_longs = {"cleanup", "strategy-option", "upload-pack", "depth",
                                   "shallow-since", "shallow-exclude", "deepen", "refmap",
                                   "server-option", "negotiation-tip"}},
        .longs = {{"strategy", Danger::kSlashInValue, kStrategy}},
        .shorts = {{'s', Danger::kSlashInValue, kStrategy}}}},
      // -s is --signoff here; the strategy has no short form.
      {"cherry-pick",
       {.syntax = {.value_shorts = "mX",
                   .optional_shorts = "S",
                   .value_longs = {"cleanup", "mainline", "strategy-option"}},
        .longs = {{"strategy", Danger::kSlashInValue, kStrategy}}}},
      {"revert",
       {.syntax = {.value_shorts = "mX",
                   .optional_shorts = "S",
                   .value_longs = {"cleanup", "mainline", "strategy-option"}},
        .longs = {{"strategy", Danger::kSlashInValue, kStrategy}}}},
      {"difftool",
       {.longs = {{"extcmd", Danger::kAlways, kRunsExtcmd}, {"tool", Danger::kSlashInValue, kTool}},
        .shorts = {{'x', Danger::kAlways, kRunsExtcmd}, {'t', Danger::kSlashInValue, kTool}}}},
      // A shell script: it takes any "--tool*" but --tool-help as --tool, and -O<orderfile>.
      {"mergetool",
       {.syntax = {.optional_shorts = "O"},
        .longs = {{"tool", Danger::kSlashInValue, kTool, true, "tool-help"}},
        .shorts = {{'t', Danger::kSlashInValue, kTool}}}},
      // -w names a file under the git directory's refs/ ("../config" leaves it).
      {"http-fetch",
       {.longs = {{"index-pack-args", Danger::kAlways, "it hands arguments on to index-pack"}},
        .shorts = {{'w', Danger::kAlways, "it writes a file under the git directory"}}}},
      {"grep",
       {.syntax = {.value_shorts = "efABCm",
                   .value_longs = {"max-depth", "context", "before-context", "after-context",
                                   "threads", "max-count"}},
        .longs = {{"open-files-in-pager", Danger::kAttachedValue, kRunsPager}},
        .shorts = {{'O', Danger::kAttachedValue, kRunsPager}}}},
  };
  return *rules;
}

// ---- Subcommands with rules of their own -----------------------------------------------------

void check_subcommand(const std::string& name, Args args);

bool is_config_write(std::string_view name) {
  constexpr std::string_view kWrites[] = {
      "add", "replace-all", "unset", "unset-all", "rename-section", "remove-section", "edit"};
  return is_one_of(kWrites, name);
}

constexpr std::string_view kConfigReadsOnly =
    "only the reading forms of git config are allowed (--get, --get-all, --get-regexp, "
    "--get-urlmatch, --list, ... spelled out in full)";

// Returns whether the option is a read action; refuses anything that is not a known read form.
bool check_config_long(std::string_view name) {
  constexpr std::string_view kReads[] = {"get",  "get-all",   "get-regexp",   "get-urlmatch",
                                         "list", "get-color", "get-colorbool"};
  constexpr std::string_view kModifiers[] = {
      "global",      "system",  "local",      "worktree",    "file",        "blob",
      "type",        "bool",    "int",        "bool-or-int", "bool-or-str", "path",
      "expiry-date", "null",    "name-only",  "includes",    "no-includes", "show-origin",
      "show-scope",  "default", "fixed-value"};
  if (is_one_of(kReads, name)) return true;
  if (is_one_of(kModifiers, name)) return false;
  refuse_option("--" + std::string(name),
                is_config_write(name) ? "it changes git configuration" : kConfigReadsOnly);
}

// `git config` may only read: read options are allowed, and so is the one-argument form
// (`git config <name>`); everything that writes, or that we do not know, is refused.
void check_config(Args args) {
  constexpr std::string_view kTakesValue[] = {"file", "blob", "type", "default"};
  bool read_action = false;
  std::vector<std::string> positionals;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (is_end_of_options(arg)) {
      positionals.insert(positionals.end(), args.begin() + i + 1, args.end());
      break;
    }
    if (arg.starts_with("--")) {
      const std::string_view name = long_name(arg);
      read_action = check_config_long(name) || read_action;
      if (arg.find('=') == std::string::npos && is_one_of(kTakesValue, name)) ++i;
    } else if (arg.size() > 1 && arg[0] == '-') {
      for (size_t j = 1; j < arg.size(); ++j) {
        const char letter = arg[j];
        if (letter == 'l') {
          read_action = true;
        } else if (letter == 'f' || letter == 't') {
          if (j + 1 == arg.size()) ++i;  // the value is the next argument
          break;
        } else if (letter != 'z') {
          refuse_option(std::string("-") + letter,
                        letter == 'e' ? "it changes git configuration" : kConfigReadsOnly);
        }
      }
    } else {
      positionals.push_back(arg);
    }
  }
  if (!read_action && positionals.size() >= 2) {
    throw Error::invalid("git config " + positionals[0] + " " + positionals[1] +
                         " is not allowed: it sets configuration; only reads are allowed");
  }
}

// git-submodule.sh takes -q/--quiet/--cached, then the first other word is the command.
void check_submodule(Args args) {
  for (const std::string& arg : args) {
    if (arg == "-q" || arg == "--quiet" || arg == "--cached") continue;
    if (arg == "foreach") {
      refuse("subcommand", "submodule foreach", "it runs a shell command in every submodule");
    }
    return;
  }
}

// `git bisect view [<args>]` runs `git log <args>` when they start with an option, the program
// itself for "tig" and "git*", and `git <args>` otherwise.
void check_bisect_view(Args args) {
  if (args.empty()) return;  // gitk or git log
  const std::string& first = args[0];
  if (first.starts_with("-")) {
    check_subcommand("log", args);
  } else if (first == "tig" || first.starts_with("git")) {
    refuse("subcommand", "bisect view " + first, "it runs that program");
  } else {
    check_subcommand(first, args.subspan(1));
  }
}

void check_bisect(Args args) {
  if (args.empty()) return;
  if (args[0] == "run") {
    refuse("subcommand", "bisect run", "it runs the given command at every step");
  }
  if (args[0] == "view" || args[0] == "visualize") check_bisect_view(args.subspan(1));
}

// git hook run [--ignore-missing] [--to-stdin=<path>] <hook-name> [-- <hook-args>]
void check_hook(Args args) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (is_end_of_options(arg)) return;
    if (arg == "--to-stdin") {
      ++i;
    } else if (!arg.starts_with("-") && arg.find('/') != std::string::npos) {
      refuse("hook name", arg, "it would run a file outside the hooks directory");
    }
  }
}

void check_maintenance(Args args) {
  if (args.empty() || args[0] == "run") return;
  refuse("subcommand", "maintenance " + args[0],
         "only 'maintenance run' is allowed; the others edit global configuration and install "
         "scheduled jobs");
}

// ---- Rules for every subcommand --------------------------------------------------------------

void check_transport_options(Args args) {
  static constexpr std::string_view kNames[] = {"upload-pack", "receive-pack", "exec"};
  for (const std::string& arg : args) {
    const std::string_view name = long_name(arg);
    for (const std::string_view option : kNames) {
      if (abbreviates(name, option)) refuse_option("--" + std::string(name), kRunsUploadPack);
    }
  }
}

void check_output_option(const std::string& subcommand, Args args) {
  if (subcommand == "archive") return;
  for (const std::string& arg : args) {
    if (is_end_of_options(arg)) return;
    if (arg == "--output" || arg.starts_with("--output=")) {
      refuse_option("--output",
                    "it writes to a file of the caller's choice (such as .git/config); the reply "
                    "carries stdout anyway");
    }
  }
}

// git's own commands (git --list-cmds=builtins,main on git 2.39) that check_name lets through;
// sorted, for binary search.
// clang-format off
constexpr std::string_view kKnownSubcommands[] = {
    "add", "am", "annotate", "apply", "archive", "bisect", "blame", "branch", "bugreport", "bundle",
    "cat-file", "check-attr", "check-ignore", "check-mailmap", "check-ref-format", "checkout",
    "checkout-index", "cherry", "cherry-pick", "clean", "clone", "column", "commit", "commit-graph",
    "commit-tree", "config", "count-objects", "credential", "credential-cache", "credential-store",
    "describe", "diagnose", "diff", "diff-files", "diff-index", "diff-tree", "difftool",
    "fast-export", "fast-import", "fetch", "fetch-pack", "fmt-merge-msg", "for-each-ref",
    "format-patch", "fsck", "fsck-objects", "gc", "get-tar-commit-id", "grep", "hash-object",
    "help", "hook", "http-backend", "http-fetch", "http-push", "imap-send", "index-pack", "init",
    "init-db", "interpret-trailers", "log", "ls-files", "ls-remote", "ls-tree", "mailinfo",
    "mailsplit", "maintenance", "merge", "merge-base", "merge-file", "merge-octopus",
    "merge-one-file", "merge-ours", "merge-recursive", "merge-recursive-ours",
    "merge-recursive-theirs", "merge-resolve", "merge-subtree", "merge-tree", "mergetool", "mktag",
    "mktree", "multi-pack-index", "mv", "name-rev", "notes", "pack-objects", "pack-redundant",
    "pack-refs", "patch-id", "pickaxe", "prune", "prune-packed", "pull", "push", "quiltimport",
    "range-diff", "read-tree", "rebase", "receive-pack", "reflog", "remote", "remote-fd",
    "remote-ftp", "remote-ftps", "remote-http", "remote-https", "repack", "replace", "request-pull",
    "rerere", "reset", "restore", "rev-list", "rev-parse", "revert", "rm", "send-pack", "shortlog",
    "show", "show-branch", "show-index", "show-ref", "sparse-checkout", "stage", "stash", "status",
    "stripspace", "submodule", "subtree", "switch", "symbolic-ref", "tag", "unpack-file",
    "unpack-objects", "update-index", "update-ref", "update-server-info", "upload-archive",
    "upload-pack", "var", "verify-commit", "verify-pack", "verify-tag", "version", "whatchanged",
    "worktree", "write-tree"};
// clang-format on
static_assert(std::ranges::is_sorted(kKnownSubcommands));

void check_name(const std::string& name) {
  static constexpr std::pair<std::string_view, std::string_view> kRefused[] = {
      {"filter-branch", "it runs the shell commands given as filters"},
      {"for-each-repo", "it runs a git command line in every repository a config key lists"},
      {"instaweb", "it starts a web server and a browser, which its options may name"},
      {"merge-index", "it runs the merge program named on its command line"},
      {"daemon", "it serves repositories to the network and runs its --access-hook program"},
      {"shell", "it runs the command given with -c"},
      {"remote-ext", "its URL is a command line to run"},
  };
  if (name.find('/') != std::string::npos) {
    refuse("subcommand", name, "git would run git-<name> as a path relative to the cwd");
  }
  if (name.find("--") != std::string::npos) {
    refuse("subcommand", name, "internal helpers are not for direct use and can run programs");
  }
  for (const auto& [refused, why] : kRefused) {
    if (name == refused) refuse("subcommand", name, why);
  }
  if (!std::binary_search(std::begin(kKnownSubcommands), std::end(kKnownSubcommands), name)) {
    refuse("subcommand", name,
           "it is not one of git's own commands; an alias or a git-* program on PATH could run "
           "anything");
  }
}

void check_subcommand(const std::string& name, Args args) {
  check_name(name);
  if (const auto it = option_rules().find(name); it != option_rules().end()) {
    check_options(args, it->second);
  }
  if (name == "config") check_config(args);
  if (name == "submodule") check_submodule(args);
  if (name == "bisect") check_bisect(args);
  if (name == "hook") check_hook(args);
  if (name == "maintenance") check_maintenance(args);
  check_output_option(name, args);
  check_transport_options(args);
}

}  // namespace

void check_git_args(const std::vector<std::string>& args) {
  // Global options that take the next argument as their value.
  constexpr std::string_view kTakesValue[] = {"-C",          "--git-dir",      "--work-tree",
                                              "--namespace", "--super-prefix", "--shallow-file"};
  const Args all(args);
  for (size_t i = 0; i < all.size(); ++i) {
    const std::string& arg = all[i];
    if (!arg.starts_with("-")) {
      check_subcommand(arg, all.subspan(i + 1));
      return;
    }
    // git turns these into `git help ...` / `git version`: nothing else runs.
    if (arg == "--help" || arg == "-h" || arg == "--version" || arg == "-v") return;
    if (arg.starts_with("-c")) refuse_option("-c", kSetsConfig);
    if (arg == "--config-env" || arg.starts_with("--config-env=")) {
      refuse_option("--config-env", kSetsConfig);
    }
    if (arg.starts_with("--exec-path=")) {
      refuse_option("--exec-path",
                    "git would run its commands from a directory of the caller's choice");
    }
    if (is_one_of(kTakesValue, arg)) ++i;
  }
}

// ---- Writes inside the git directory ----------------------------------------------------------

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kWritesGitDir =
    "it would write inside a git directory or the user's git configuration, which name programs "
    "git runs";

// `path` with symlinks resolved as far as it exists, and `.`/`..` folded.
fs::path resolved(const fs::path& path) {
  std::error_code ignored;
  fs::path out = fs::weakly_canonical(path, ignored);
  return out.empty() ? path.lexically_normal() : out;
}

bool is_inside(const fs::path& path, const fs::path& dir) {
  const auto [dir_end, path_it] = std::mismatch(dir.begin(), dir.end(), path.begin(), path.end());
  return dir_end == dir.end() || (std::next(dir_end) == dir.end() && dir_end->empty());
}

// A repository as git would find it from `start`: its top level (empty when bare) and the git
// directories to protect (the git dir, and a linked worktree's common dir).
struct Repository {
  fs::path top;
  std::vector<fs::path> git_dirs;
};

std::string first_line(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return line;
}

void add_git_dir(Repository& repo, const fs::path& git_dir) {
  repo.git_dirs.push_back(resolved(git_dir));
  const fs::path commondir = git_dir / "commondir";
  std::error_code ignored;
  if (fs::is_regular_file(commondir, ignored)) {
    repo.git_dirs.push_back(resolved(git_dir / first_line(commondir)));
  }
}

bool looks_like_git_dir(const fs::path& dir) {
  std::error_code ignored;
  return fs::is_regular_file(dir / "HEAD", ignored) && fs::is_directory(dir / "objects", ignored) &&
         fs::is_directory(dir / "refs", ignored);
}

Repository find_repository(const fs::path& start) {
  Repository repo;
  std::error_code ignored;
  for (fs::path dir = resolved(start);; dir = dir.parent_path()) {
    const fs::path dot_git = dir / ".git";
    if (fs::is_directory(dot_git, ignored)) {
      repo.top = dir;
      add_git_dir(repo, dot_git);
      return repo;
    }
    if (fs::is_regular_file(dot_git, ignored)) {
      const std::string line = first_line(dot_git);
      if (line.starts_with("gitdir: ")) {
        repo.top = dir;
        add_git_dir(repo, dir / line.substr(8));
        return repo;
      }
    }
    if (looks_like_git_dir(dir)) {
      add_git_dir(repo, dir);
      return repo;
    }
    if (dir == dir.parent_path()) return repo;
  }
}

// Where git could put what a relative path names: it resolves some against the cwd and others
// against the top level, so both count.
class PathCheck {
 public:
  PathCheck(fs::path cwd, std::vector<fs::path> protected_dirs)
      : cwd_(std::move(cwd)), protected_(std::move(protected_dirs)) {
    const Repository repo = find_repository(cwd_);
    top_ = repo.top;
    protected_.insert(protected_.end(), repo.git_dirs.begin(), repo.git_dirs.end());
  }

  // Whether `path` names a place in a protected directory or file, or in any directory
  // named .git (another repository's).
  bool inside_git_dir(const fs::path& path) const {
    for (const fs::path& base : bases()) {
      const fs::path target = resolved(base / path);
      for (const fs::path& dir : protected_) {
        if (is_inside(target, dir)) return true;
      }
      for (const fs::path& component : target) {
        if (component == ".git") return true;
      }
    }
    return false;
  }

  // Refuses `value` of `option` when it names a place inside a git directory.
  void check(std::string_view option, const std::string& value) const {
    if (inside_git_dir(value)) refuse_option(std::string(option) + " " + value, kWritesGitDir);
  }

  // Where the files of a tree land: under `dir`, or, for a string prefix (checkout-index
  // --prefix=.git/), in the directory the prefix ends in. Any file name can come out of a
  // tree, so that directory may not be in a protected place, nor hold one below it (a
  // committed "gitconfig" under --prefix=$HOME/. is ~/.gitconfig) — except a .git directory,
  // which git never writes into from a tree.
  void check_landing(std::string_view option, const std::string& value, bool prefix) const {
    const fs::path dir = prefix ? fs::path(value + "x").parent_path() : fs::path(value);
    bool refused = inside_git_dir(dir);
    for (const fs::path& base : bases()) {
      const fs::path landing = resolved(base / dir);
      for (const fs::path& place : protected_) {
        if (place.filename() != ".git" && is_inside(place, landing)) refused = true;
      }
    }
    if (refused) refuse_option(std::string(option) + "=" + value, kWritesGitDir);
  }

  const std::vector<fs::path>& protected_dirs() const { return protected_; }
  const fs::path& cwd() const { return cwd_; }

 private:
  std::vector<fs::path> bases() const {
    std::vector<fs::path> out{cwd_};
    if (!top_.empty()) out.push_back(top_);
    return out;
  }

  fs::path cwd_;
  fs::path top_;
  std::vector<fs::path> protected_;
};

// A path-valued option of a subcommand: its long name (abbreviations count), its short letter
// (0: none), and whether its value is a prefix rather than a path.
struct PathOption {
  enum class Kind { kFile, kPrefix, kDirectory };  // a file or a directory; where a tree lands
  std::string_view name;
  char letter = 0;
  Kind kind = Kind::kFile;
};

// Subcommands that write where an option says.
const std::map<std::string_view, std::vector<PathOption>>& path_options() {
  static const auto* const options = new std::map<std::string_view, std::vector<PathOption>>{
      {"checkout-index", {{"prefix", 0, PathOption::Kind::kPrefix}}},
      {"read-tree", {{"prefix", 0, PathOption::Kind::kPrefix}}},
      {"archive", {{"output", 'o'}}},
      {"format-patch", {{"output-directory", 'o'}}},
      {"bugreport", {{"output-directory", 'o'}}},
      {"diagnose", {{"output-directory", 'o'}}},
      {"index-pack", {{"", 'o'}}},
      {"mailsplit", {{"", 'o'}}},
      {"apply", {{"directory", 0, PathOption::Kind::kDirectory}}},
      {"am", {{"directory", 0, PathOption::Kind::kDirectory}}},
      {"init", {{"separate-git-dir"}}},
      {"clone", {{"separate-git-dir"}}},
      {"fast-export", {{"export-marks"}}},
      {"fast-import", {{"export-marks"}, {"export-pack-edges"}}},
      {"credential-store", {{"file"}}},
      {"credential-cache", {{"socket"}}},
  };
  return *options;
}

// Subcommands that write to a path given as a positional argument: none of their positional
// arguments may name a place inside a git directory (a read of one is refused too).
bool writes_positional_paths(std::string_view subcommand) {
  static constexpr std::string_view kNames[] = {
      "bundle",       "clone",     "init",       "init-db",
      "worktree",     "submodule", "merge-file", "interpret-trailers",
      "pack-objects", "mailinfo"};
  return is_one_of(kNames, subcommand);
}

void check_path_option(const PathCheck& paths, Args args, size_t i, const PathOption& option) {
  const std::string& arg = args[i];
  const bool has_next = i + 1 < args.size();
  const std::string_view name = long_name(arg);
  if (!option.name.empty() && !name.empty() && abbreviates(name, option.name)) {
    const size_t eq = arg.find('=');
    const std::string shown = "--" + std::string(option.name);
    if (eq == std::string::npos && !has_next) return;
    const std::string value = eq != std::string::npos ? arg.substr(eq + 1) : args[i + 1];
    if (option.kind == PathOption::Kind::kFile) return paths.check(shown, value);
    return paths.check_landing(shown, value, option.kind == PathOption::Kind::kPrefix);
  }
  if (option.letter == 0 || arg.starts_with("--") || arg.size() < 2 || arg[0] != '-') return;
  const size_t at = arg.find(option.letter, 1);
  if (at == std::string::npos) return;
  const std::string shown = std::string("-") + option.letter;
  if (at + 1 < arg.size()) return paths.check(shown, arg.substr(at + 1));
  if (has_next) paths.check(shown, args[i + 1]);
}

void check_subcommand_paths(const PathCheck& paths, const std::string& subcommand, Args args) {
  const auto it = path_options().find(subcommand);
  bool options_over = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (!options_over && is_end_of_options(arg)) {
      options_over = true;
      continue;
    }
    const bool option = !options_over && arg.size() > 1 && arg[0] == '-';
    if (option && it != path_options().end()) {
      for (const PathOption& path_option : it->second)
        check_path_option(paths, args, i, path_option);
    }
    if (!option && writes_positional_paths(subcommand) && paths.inside_git_dir(arg)) {
      refuse("argument", arg, kWritesGitDir);
    }
  }
}

}  // namespace

std::vector<fs::path> git_directories(const fs::path& dir) { return find_repository(dir).git_dirs; }

std::vector<fs::path> git_config_locations(const std::map<std::string, std::string>& env) {
  std::vector<fs::path> out;
  const auto value = [&env](const char* name) -> std::string {
    const auto it = env.find(name);
    return it == env.end() ? std::string() : it->second;
  };
  const std::string home = value("HOME");
  const std::string xdg = value("XDG_CONFIG_HOME");
  if (!home.empty()) {
    out.push_back(resolved(fs::path(home) / ".gitconfig"));
    out.push_back(resolved(fs::path(home) / ".config" / "git"));
  }
  if (!xdg.empty()) out.push_back(resolved(fs::path(xdg) / "git"));
  return out;
}

void check_git_paths(const std::vector<std::string>& args, const fs::path& cwd,
                     const std::vector<fs::path>& protected_dirs) {
  // Global options first: -C moves the cwd (cumulatively, as in git).
  fs::path dir = cwd;
  const Args all(args);
  size_t i = 0;
  for (; i < all.size() && all[i].starts_with("-"); ++i) {
    const std::string& arg = all[i];
    const bool has_next = i + 1 < all.size();
    const auto value_of = [&](std::string_view option) -> std::optional<std::string> {
      if (arg == option) return has_next ? std::optional(all[++i]) : std::nullopt;
      if (arg.starts_with(std::string(option) + "=")) return arg.substr(option.size() + 1);
      return std::nullopt;
    };
    if (arg == "-C" && has_next) {
      dir = dir / all[++i];
    } else if (auto git_dir = value_of("--git-dir")) {
      // Only this repository's own git dir: another one's config and hooks are the caller's.
      const PathCheck here(dir, protected_dirs);
      const fs::path target = resolved(dir / *git_dir);
      const auto& own = here.protected_dirs();
      if (std::find(own.begin(), own.end(), target) == own.end()) {
        refuse_option("--git-dir " + *git_dir,
                      "git would use another repository's configuration and hooks, which name "
                      "programs it runs; use -C to work in another repository");
      }
    } else if (auto work_tree = value_of("--work-tree")) {
      PathCheck(dir, protected_dirs).check("--work-tree", *work_tree);
    } else if (arg == "--namespace" || arg == "--super-prefix" || arg == "--shallow-file") {
      ++i;
    }
  }
  const PathCheck paths(dir, protected_dirs);
  for (const fs::path& git_dir : paths.protected_dirs()) {
    if (is_inside(resolved(dir), git_dir)) {
      refuse("working directory", dir.string(),
             "git run inside the git directory writes its files there; run it from the worktree");
    }
  }
  if (i < all.size()) check_subcommand_paths(paths, all[i], all.subspan(i + 1));
}

const std::vector<std::string> kGitIdentityVariables = {
    "GIT_AUTHOR_NAME",    "GIT_AUTHOR_EMAIL",    "GIT_AUTHOR_DATE",
    "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "GIT_COMMITTER_DATE"};

namespace {

bool is_identity_variable(std::string_view name) {
  return std::find(kGitIdentityVariables.begin(), kGitIdentityVariables.end(), name) !=
         kGitIdentityVariables.end();
}

// GIT_* variables that only tune how git behaves, with no program, file or configuration in
// their value.
bool is_harmless_git_variable(std::string_view name) {
  static constexpr std::string_view kHarmless[] = {"GIT_TERMINAL_PROMPT",
                                                   "GIT_FLUSH",
                                                   "GIT_OPTIONAL_LOCKS",
                                                   "GIT_MERGE_VERBOSITY",
                                                   "GIT_MERGE_AUTOEDIT",
                                                   "GIT_LITERAL_PATHSPECS",
                                                   "GIT_GLOB_PATHSPECS",
                                                   "GIT_NOGLOB_PATHSPECS",
                                                   "GIT_ICASE_PATHSPECS",
                                                   "GIT_REFLOG_ACTION",
                                                   "GIT_DEFAULT_HASH",
                                                   "GIT_PROGRESS_DELAY",
                                                   "GIT_HTTP_USER_AGENT",
                                                   "GIT_HTTP_LOW_SPEED_LIMIT",
                                                   "GIT_HTTP_LOW_SPEED_TIME",
                                                   "GIT_REDACT_COOKIES",
                                                   "GIT_ADVICE"};
  return is_one_of(kHarmless, name);
}

}  // namespace

bool is_git_repository_variable(std::string_view name) {
  static constexpr std::string_view kRepository[] = {"GIT_DIR",
                                                     "GIT_WORK_TREE",
                                                     "GIT_INDEX_FILE",
                                                     "GIT_OBJECT_DIRECTORY",
                                                     "GIT_ALTERNATE_OBJECT_DIRECTORIES",
                                                     "GIT_COMMON_DIR",
                                                     "GIT_NAMESPACE",
                                                     "GIT_CEILING_DIRECTORIES",
                                                     "GIT_DISCOVERY_ACROSS_FILESYSTEM",
                                                     "GIT_PREFIX",
                                                     "GIT_SHALLOW_FILE",
                                                     "GIT_GRAFT_FILE",
                                                     "GIT_REPLACE_REF_BASE",
                                                     "GIT_NO_REPLACE_OBJECTS",
                                                     "GIT_QUARANTINE_PATH",
                                                     "GIT_INTERNAL_SUPER_PREFIX",
                                                     "GIT_SUPER_PREFIX"};
  return is_one_of(kRepository, name);
}

bool is_refused_git_variable(std::string_view name) {
  static constexpr std::string_view kRunsPrograms[] = {"SSH_ASKPASS", "LD_PRELOAD", "LD_AUDIT",
                                                       "BASH_ENV", "ENV"};
  if (is_one_of(kRunsPrograms, name)) return true;
  if (!name.starts_with("GIT_")) return false;
  return !is_identity_variable(name) && !is_harmless_git_variable(name);
}

void check_git_env(const std::map<std::string, std::string>& env, bool complete) {
  for (const auto& [name, value] : env) {
    if (complete ? is_refused_git_variable(name) : !is_identity_variable(name)) {
      throw Error::invalid(
          "git environment variable '" + name + "' is not allowed: " +
          (complete ? "it selects the repository, names a program for git to run or changes "
                      "its configuration"
                    : "only author and committer identity may be set"));
    }
  }
}

std::map<std::string, std::string> git_environment(
    const std::map<std::string, std::string>& env, bool complete,
    const std::map<std::string, std::string>& daemon) {
  std::map<std::string, std::string> out;
  if (complete) {
    out = env;
  } else {
    for (const auto& [name, value] : daemon) {
      if (!is_refused_git_variable(name)) out.emplace(name, value);
    }
    for (const auto& [name, value] : env) out[name] = value;
  }
  // Nobody can answer an editor or a prompt: fail fast instead of holding the repository mutex
  // until the timeout. (git uses no pager when stdout is not a terminal; these make sure.)
  for (const char* editor : {"GIT_EDITOR", "GIT_SEQUENCE_EDITOR", "EDITOR", "VISUAL"}) {
    out[editor] = "false";
  }
  out["GIT_TERMINAL_PROMPT"] = "0";
  out["GIT_PAGER"] = "cat";
  out["PAGER"] = "cat";
  return out;
}

}  // namespace harness
