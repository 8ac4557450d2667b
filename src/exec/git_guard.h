// What the daemon's `git` command lets a client ask of git (docs/protocol.md, "git").
//
// The `git` command exists so that agents can use git — serialised, in the worktree — without
// being handed a general way to run programs. Git runs programs for many reasons. Those chosen
// by the repository and the user (hooks, the configured pager, editor, diff and merge drivers,
// credential helpers, ssh; aliases; git-* programs on the daemon's PATH) are trusted: the
// daemon's environment and configuration decide them, not the request. What a request must not
// do is name a program for git to run, or change git's configuration, through its arguments.
//
// THE RULE, checked by check_git_args (git 2.39's behaviour, verified on this machine):
//
// 1. Global options (before the subcommand). Refused: -c <name>=<value> (also -c<name>=<value>),
//    --config-env <name>=<var> (also --config-env=...), --exec-path=<dir> (git would run its
//    commands from that directory). Allowed: bare --exec-path (it only prints), -C, --git-dir,
//    --work-tree, --namespace, -p/-P, --bare, ... ; --help/-h/--version/-v end the checking
//    (git then only shows help or its version).
//
// 2. The subcommand must be one of git's own commands. Refused:
//    - names containing '/': git runs "git-<name>" as a path relative to the cwd;
//    - internal helpers, whose names contain "--" (submodule--helper foreach, ...);
//    - aliases and any other unknown name: an alias may be "!shell code", an unknown name runs
//      git-<name> from PATH, and help.autocorrect may turn a typo into any command;
//    - commands whose job is to run programs: filter-branch, for-each-repo, instaweb,
//      merge-index, daemon (--access-hook), shell, remote-ext.
//
// 3. Everywhere after the subcommand, even after "--": --upload-pack, --receive-pack and --exec,
//    with or without "=value", and any abbreviation of them (git accepts unique prefixes such as
//    --upl). They name the program run for the other side of a transport — locally, through a
//    shell, for a local repository. "--" does not protect: pull, remote update, subtree and
//    request-pull hand their positional arguments on to fetch/push/ls-remote unguarded.
//
// 4. Per subcommand, reading options the way git's parser does: up to "--" or
//    "--end-of-options"; long options also when abbreviated; short options clustered (-qu x),
//    with values attached (-ux) or separate (-u x); an option that takes a value consumes it, so
//    `commit -m -c` is a message, not an option.
//    - clone: -u/--upload-pack, -c/--config, --template (hooks copied from a directory of the
//      caller's choice run during the clone); init: --template.
//    - config: only reads. Allowed options: --get, --get-all, --get-regexp, --get-urlmatch,
//      -l/--list, --get-color, --get-colorbool, --global/--system/--local/--worktree,
//      -f/--file, --blob, -t/--type and the type flags (--bool, --int, --bool-or-int,
//      --bool-or-str, --path, --expiry-date), -z/--null, --name-only, --[no-]includes,
//      --show-origin, --show-scope, --default, --fixed-value (all spelled out in full). Without
//      a read option, only `git config <name>` (one argument) — two or more set a value.
//    - rebase: -x/--exec (a shell command after every commit).
//    - merge, pull, rebase (-s/--strategy) and cherry-pick, revert (--strategy): a strategy
//      containing '/', since git runs "git-merge-<strategy>" and a '/' makes that a relative
//      path to any program.
//    - difftool: -x/--extcmd; difftool and mergetool: -t/--tool containing '/' (the tool name is
//      a file under git's mergetools directory that git's shell code sources).
//    - grep: -O<pager> / --open-files-in-pager=<pager> (a bare -O, the configured pager, is ok).
//    - submodule: foreach. bisect: run; `bisect view|visualize <args>` runs `git log <args>`,
//      `git <args>` or the program <args> names, so it is checked as that git command, and
//      refused when it names a program (tig, git*).
//    - hook run: a hook name containing '/' (it would run a file outside the hooks directory).
//    - maintenance: only `run` (start/stop/register/unregister edit the user's global
//      configuration and crontab or systemd timers).
//    - http-fetch: -w (a file under the git directory's refs/, which "../" leaves) and
//      --index-pack-args.
//
// 5. --output / --output=<file> before "--", in any subcommand except archive: it writes git's
//    output to a file of the caller's choosing — .git/config, say — and the reply carries stdout
//    anyway. (archive --output writes a tar or zip, which can be neither.)
//
// Legitimate look-alikes pass: add -u, commit -u/--untracked-files, status -u, fetch -u
// (--update-head-ok), push -u and branch -u (upstream), tag -u (a key id), log/diff/show -c
// (combined diff), cherry-pick -x, clean -x, grep -c, merge -s ours, -C <dir>, option values
// (commit -m -c) and paths after "--" (add -- -c).
//
// Limits, on purpose: refusals err on the safe side, so a value that looks like a refused
// option can be refused too (commit -m --exec, log --grep --output). And no argument check can
// stop a repository whose configuration or hooks the caller can write (through exec, or a
// repository it creates and points -C at) from running programs: sandbox the agent if that
// matters. What git itself would write into the git directory through a path argument is
// refused by check_git_paths below.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace harness {

// `args` are the arguments after "git" itself. Returns when they are allowed by the rule above;
// otherwise throws Error::invalid with "git option '<option>' is not allowed: <why>" (or
// "git subcommand '<name>' ..." / "git hook name '<name>' ..." / "git config <name> <value> ...").
void check_git_args(const std::vector<std::string>& args);

// WRITES INSIDE THE GIT DIRECTORY. Git writes files where some arguments say; a write inside a
// git directory (config, hooks) could name programs git runs later (checkout-index
// --prefix=.git/ -- config, with a committed `config` holding core.fsmonitor). So
// check_git_paths refuses, with Error::invalid ("... is not allowed: it would write inside a git
// directory or the user's git configuration ..."), every path argument that names a place
// inside a protected git directory: the git dir (and a linked worktree's common dir) of the
// repository git would find from `cwd`, any directory named .git (another repository's), and
// `protected_dirs` (the daemon's own worktree's git dirs, the user's configuration:
// git_config_locations). A relative path counts against both the cwd and the top level (git
// resolves some against one, some against the other); symlinks are followed as far as the path
// exists; `..` is folded.
// - Global options: -C (cumulative) must not lead into a git directory (nor may the cwd be
//   inside one); --git-dir must name the repository's own git dir; --work-tree must not be
//   inside one.
// - Path-valued options: checkout-index and read-tree --prefix (the directory the files land
//   in), archive -o/--output, format-patch, bugreport and diagnose -o/--output-directory,
//   index-pack -o, mailsplit -o, apply and am --directory, init and clone --separate-git-dir,
//   fast-export and fast-import --export-marks, fast-import --export-pack-edges,
//   credential-store --file, credential-cache
//   --socket; long options also abbreviated, short ones clustered or attached.
// - Subcommands that write to a positional path (bundle create, clone, init, worktree add/move,
//   submodule add, merge-file, interpret-trailers --in-place, pack-objects, mailinfo): none of
//   their positional arguments may be inside a git directory.
// (diff/log/... --output is refused whatever its value by check_git_args.)
void check_git_paths(const std::vector<std::string>& args, const std::filesystem::path& cwd,
                     const std::vector<std::filesystem::path>& protected_dirs = {});

// The git directories (the git dir, and a linked worktree's common dir) of the repository git
// finds from `dir`, resolved; empty outside any repository.
std::vector<std::filesystem::path> git_directories(const std::filesystem::path& dir);

// Where git reads the user's configuration in environment `env`: $HOME/.gitconfig,
// $HOME/.config/git and $XDG_CONFIG_HOME/git, resolved (for check_git_paths).
std::vector<std::filesystem::path> git_config_locations(
    const std::map<std::string, std::string>& env);

// THE ENVIRONMENT of a git request (docs/protocol.md, "exec and git"):
// - A partial `env`, merged over the daemon's environment (old clients): only the author's and
//   committer's name, email and date may be set, so that each agent can commit under its own
//   identity; anything else is refused.
// - A complete `env` (`env_complete`, what the CLI sends: the caller's whole environment): any
//   variable but those is_refused_git_variable names. The caller's PATH, HOME and the like are
//   its own, as they would be for a git it ran itself.
// Refusals throw Error::invalid ("git environment variable 'X' is not allowed: ...").
void check_git_env(const std::map<std::string, std::string>& env, bool complete = false);
extern const std::vector<std::string> kGitIdentityVariables;

// The variables that pick the repository and what git sees of it: GIT_DIR, GIT_WORK_TREE,
// GIT_INDEX_FILE, GIT_OBJECT_DIRECTORY, GIT_ALTERNATE_OBJECT_DIRECTORIES, GIT_COMMON_DIR,
// GIT_NAMESPACE, GIT_CEILING_DIRECTORIES, GIT_DISCOVERY_ACROSS_FILESYSTEM, GIT_PREFIX,
// GIT_SHALLOW_FILE, GIT_GRAFT_FILE, GIT_REPLACE_REF_BASE, GIT_NO_REPLACE_OBJECTS,
// GIT_QUARANTINE_PATH, GIT_INTERNAL_SUPER_PREFIX, GIT_SUPER_PREFIX. The CLI never sends them,
// for exec neither: a command works on the repository its cwd selects, not on one a variable
// left over in the caller (a git hook's GIT_DIR, say) names.
bool is_git_repository_variable(std::string_view name);

// The variables a complete git environment may not hold, and the CLI leaves out of the one it
// sends with git: every GIT_* variable but the identity ones and a few that only tune git's
// behaviour (GIT_TERMINAL_PROMPT, GIT_FLUSH, GIT_OPTIONAL_LOCKS, *_PATHSPECS, ...) — so the
// repository family above, GIT_CONFIG_*, GIT_EXEC_PATH, GIT_SSH(_COMMAND), GIT_ASKPASS,
// GIT_EXTERNAL_DIFF, GIT_PROXY_COMMAND, GIT_TEMPLATE_DIR, GIT_TRACE* (a file to write) — and
// SSH_ASKPASS, LD_PRELOAD, LD_AUDIT, BASH_ENV, ENV.
bool is_refused_git_variable(std::string_view name);

// The environment git runs with. Complete: `env` itself. Partial: `daemon` (the daemon's own
// environment) less the refused variables, with `env` over it. Either way GIT_EDITOR,
// GIT_SEQUENCE_EDITOR, EDITOR and VISUAL are `false` (a git that wants an editor fails at once
// instead of waiting for one), GIT_TERMINAL_PROMPT is 0, and GIT_PAGER and PAGER are `cat`.
std::map<std::string, std::string> git_environment(
    const std::map<std::string, std::string>& env, bool complete,
    const std::map<std::string, std::string>& daemon);

}  // namespace harness
