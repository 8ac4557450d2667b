#include "exec/git_guard.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"

namespace harness {
namespace {

using Args = std::vector<std::string>;
using testing::HasSubstr;
using testing::StartsWith;

std::string shown(const Args& args) {
  std::string line = "git";
  for (const std::string& arg : args) line += " [" + arg + "]";
  return line;
}

void expect_allowed(const Args& args) {
  try {
    check_git_args(args);
  } catch (const Error& e) {
    ADD_FAILURE() << shown(args) << " was refused: " << e.what();
  }
}

// `fragment` must occur in the message, e.g. "option '-c'".
void expect_refused(const Args& args, const std::string& fragment) {
  try {
    check_git_args(args);
    ADD_FAILURE() << shown(args) << " was allowed";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kInvalidArgument) << shown(args);
    EXPECT_THAT(e.what(), HasSubstr(fragment)) << shown(args);
    EXPECT_THAT(e.what(), HasSubstr("is not allowed: ")) << shown(args);
  }
}

TEST(GitGuard, MessageNamesTheOptionAndTheReason) {
  try {
    check_git_args({"clone", "-u", "touch /tmp/x", "repo"});
    FAIL() << "allowed";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), StartsWith("git option '-u' is not allowed: it names the program"));
  }
}

TEST(GitGuard, AllowsPlainCommands) {
  expect_allowed({});
  expect_allowed({"status"});
  expect_allowed({"log", "--oneline", "-n", "5"});
  expect_allowed({"add", "-A"});
  expect_allowed({"commit", "-m", "test(integration): add a test"});
  expect_allowed({"diff", "--cached", "--", "src/a.cc"});
  expect_allowed({"rev-parse", "--show-toplevel"});
  expect_allowed({"worktree", "list"});
  expect_allowed({"fetch", "origin"});
  expect_allowed({"push", "origin", "HEAD:refs/heads/x"});
}

TEST(GitGuard, RefusesConfigurationThroughGlobalOptions) {
  expect_refused({"-c", "core.pager=touch /tmp/x", "log"}, "option '-c'");
  expect_refused({"-ccore.pager=cat", "log"}, "option '-c'");
  expect_refused({"--config-env", "core.pager=PAGER", "log"}, "option '--config-env'");
  expect_refused({"--config-env=core.pager=PAGER", "log"}, "option '--config-env'");
  expect_refused({"--exec-path=/tmp/evil", "status"}, "option '--exec-path'");
  expect_refused({"-C", "sub", "--no-pager", "-c", "a.b=c", "status"}, "option '-c'");
}

TEST(GitGuard, AllowsHarmlessGlobalOptions) {
  expect_allowed({"--exec-path"});  // only prints where git's programs are
  expect_allowed({"-C", "sub", "status"});
  expect_allowed({"-C", "-c", "status"});  // a directory called "-c"
  expect_allowed({"--git-dir", "-c", "log"});
  expect_allowed({"--git-dir=.git", "--work-tree=.", "log"});
  expect_allowed({"--no-pager", "-p", "--bare", "--literal-pathspecs", "log"});
  expect_allowed({"--namespace", "x", "--super-prefix", "y", "--shallow-file", "z", "log"});
  expect_allowed({"--version"});
  expect_allowed({"--help", "config"});
  expect_allowed({"-h", "-c"});  // git help --config: lists config variables
}

TEST(GitGuard, RefusesSubcommandsThatAreNotGitsOwn) {
  expect_refused({"foo/bar"}, "subcommand 'foo/bar'");
  expect_refused({"../../tmp/evil"}, "subcommand");
  expect_refused({"my-alias"}, "subcommand 'my-alias'");
  expect_refused({"lfs", "pull"}, "subcommand 'lfs'");
  expect_refused({"clang-format", "--binary", "/tmp/evil"}, "subcommand 'clang-format'");
  expect_refused({"send-email", "--sendmail-cmd=x"}, "subcommand 'send-email'");
  expect_refused({"svn", "fetch"}, "subcommand 'svn'");
  expect_refused({""}, "subcommand ''");
  expect_refused({"-C", "sub", "statsu"}, "subcommand 'statsu'");  // no help.autocorrect
}

TEST(GitGuard, RefusesInternalHelpers) {
  expect_refused({"submodule--helper", "foreach", "sh"}, "subcommand 'submodule--helper'");
  expect_refused({"bisect--helper", "run", "sh"}, "subcommand 'bisect--helper'");
  expect_refused({"difftool--helper"}, "subcommand 'difftool--helper'");
  expect_refused({"web--browse", "x"}, "subcommand 'web--browse'");
}

TEST(GitGuard, RefusesCommandsThatRunPrograms) {
  expect_refused({"filter-branch", "--tree-filter", "sh"}, "subcommand 'filter-branch'");
  expect_refused({"for-each-repo", "--config=a.b", "log"}, "subcommand 'for-each-repo'");
  expect_refused({"instaweb", "--httpd=sh"}, "subcommand 'instaweb'");
  expect_refused({"merge-index", "/tmp/evil", "-a"}, "subcommand 'merge-index'");
  expect_refused({"daemon", "--access-hook=/tmp/evil"}, "subcommand 'daemon'");
  expect_refused({"shell", "-c", "sh"}, "subcommand 'shell'");
  expect_refused({"remote-ext", ".", "sh -c x"}, "subcommand 'remote-ext'");
}

TEST(GitGuard, RefusesTransportPrograms) {
  const std::string up = "touch /tmp/x; false";
  expect_refused({"fetch", "--upload-pack=" + up, "origin"}, "option '--upload-pack'");
  expect_refused({"fetch", "--upload-pack", up, "origin"}, "option '--upload-pack'");
  expect_refused({"fetch", "--upl=" + up, "origin"}, "option '--upl'");
  expect_refused({"pull", "--upload-pack", up}, "option '--upload-pack'");
  expect_refused({"ls-remote", "--upload-pack=" + up, "r"}, "option '--upload-pack'");
  expect_refused({"ls-remote", "--exec=" + up, "r"}, "option '--exec'");
  expect_refused({"fetch-pack", "--exec=" + up, "r"}, "option '--exec'");
  expect_refused({"fetch-pack", "--upload-pack=" + up, "r"}, "option '--upload-pack'");
  expect_refused({"push", "--receive-pack=" + up, "r"}, "option '--receive-pack'");
  expect_refused({"push", "--rec", up, "r"}, "option '--rec'");
  expect_refused({"push", "--exec=" + up, "r", "main"}, "option '--exec'");
  expect_refused({"send-pack", "--receive-pack=" + up, "r"}, "option '--receive-pack'");
  expect_refused({"send-pack", "--exec", up, "r"}, "option '--exec'");
  expect_refused({"archive", "--remote=r", "--exec=" + up, "HEAD"}, "option '--exec'");
  expect_refused({"clone", "--upload-pack", up, "r"}, "option '--upload-pack'");
}

TEST(GitGuard, RefusesTransportProgramsEvenAfterDoubleDash) {
  // Each of these hands its positional arguments on to fetch, push or ls-remote, where they
  // become options again (verified with git 2.39).
  const std::string up = "--upload-pack=touch /tmp/x; false";
  expect_refused({"pull", "--", up}, "option '--upload-pack'");
  expect_refused({"pull", "--rebase", "--", up}, "option '--upload-pack'");
  expect_refused({"remote", "update", "--", up}, "option '--upload-pack'");
  expect_refused({"subtree", "add", "--prefix=p", "--", up, "main"}, "option '--upload-pack'");
  expect_refused({"request-pull", "HEAD", "--", up}, "option '--upload-pack'");
  expect_refused({"fetch", "--end-of-options", up}, "option '--upload-pack'");
}

TEST(GitGuard, AllowsTransportLookAlikes) {
  expect_allowed({"fetch", "-u", "origin"});  // --update-head-ok
  expect_allowed({"fetch", "--update-head-ok", "origin"});
  expect_allowed({"push", "-u", "origin", "main"});  // --set-upstream
  expect_allowed({"push", "--recurse-submodules=check", "origin"});
  expect_allowed({"archive", "--remote=r", "HEAD"});
  expect_allowed({"ls-remote", "--exit-code", "origin"});
  expect_allowed({"log", "--exclude=refs/x", "--all"});
}

TEST(GitGuard, RefusesCloneAndInitOptionsThatRunPrograms) {
  expect_refused({"clone", "-u", "prog", "r"}, "option '-u'");
  expect_refused({"clone", "-uprog", "r"}, "option '-u'");
  expect_refused({"clone", "-qu", "prog", "r"}, "option '-u'");
  expect_refused({"clone", "-vqnu", "prog", "r"}, "option '-u'");
  expect_refused({"clone", "r", "dir", "-u", "prog"}, "option '-u'");  // options may come last
  expect_refused({"clone", "-c", "core.fsmonitor=prog", "r"}, "option '-c'");
  expect_refused({"clone", "-ccore.fsmonitor=prog", "r"}, "option '-c'");
  expect_refused({"clone", "-qc", "a=b", "r"}, "option '-c'");
  expect_refused({"clone", "--config", "a=b", "r"}, "option '--config'");
  expect_refused({"clone", "--config=a=b", "r"}, "option '--config'");
  expect_refused({"clone", "--conf=a=b", "r"}, "option '--conf'");
  expect_refused({"clone", "--template=/tmp/t", "r"}, "option '--template'");
  expect_refused({"clone", "--template", "/tmp/t", "r"}, "option '--template'");
  expect_refused({"init", "--template=/tmp/t"}, "option '--template'");
  expect_refused({"init", "--templ", "/tmp/t", "dir"}, "option '--templ'");
}

TEST(GitGuard, AllowsCloneAndInitLookAlikes) {
  expect_allowed({"clone", "r", "dir"});
  expect_allowed({"clone", "-b", "-u", "r"});  // a branch called "-u"
  expect_allowed({"clone", "-bu", "r"});       // a branch called "u"
  expect_allowed({"clone", "-o", "-c", "r"});  // a remote called "-c"
  expect_allowed({"clone", "-q", "--depth", "1", "-j", "4", "--recurse-submodules", "r"});
  expect_allowed({"clone", "--", "r", "-c"});  // a directory called "-c"
  expect_allowed({"init", "-b", "main", "--bare", "repo.git"});
  expect_allowed({"init", "--separate-git-dir", "g", "w"});
}

TEST(GitGuard, AllowsOnlyReadingConfig) {
  expect_allowed({"config", "user.name"});
  expect_allowed({"config", "--get", "user.name"});
  expect_allowed({"config", "--get", "remote.origin.url", "value-pattern"});
  expect_allowed({"config", "--get-all", "remote.origin.fetch"});
  expect_allowed({"config", "--get-regexp", "^remote\\."});
  expect_allowed({"config", "--get-urlmatch", "http", "https://example.com"});
  expect_allowed({"config", "--list"});
  expect_allowed({"config", "-l"});
  expect_allowed({"config", "-lz"});
  expect_allowed({"config", "--list", "--show-origin", "--show-scope"});
  expect_allowed({"config", "--show-origin", "--get", "user.email"});
  expect_allowed({"config", "--global", "--get", "user.name"});
  expect_allowed({"config", "--file", "f", "--get", "a.b"});
  expect_allowed({"config", "-f", "f", "--list"});
  expect_allowed({"config", "-ff", "-l"});
  expect_allowed({"config", "--type=bool", "--get", "core.bare"});
  expect_allowed({"config", "-t", "bool", "core.bare"});
  expect_allowed({"config", "--default", "x", "--get", "a.b"});
  expect_allowed({"config", "--get-color", "color.diff.new", "green"});
  expect_allowed({"config", "--get-colorbool", "color.ui"});
  expect_allowed({"config", "--null", "--name-only", "--includes", "--list"});
  expect_allowed({"config", "--blob", "HEAD:.gitmodules", "--list"});
}

TEST(GitGuard, RefusesWritingConfig) {
  expect_refused({"config", "user.name", "x"}, "git config user.name x is not allowed");
  expect_refused({"config", "--global", "core.pager", "touch /tmp/x"}, "config core.pager");
  expect_refused({"config", "--file", "f", "a.b", "c"}, "config a.b c");
  expect_refused({"config", "-t", "bool", "a.b", "true"}, "config a.b true");
  expect_refused({"config", "--", "alias.x", "!sh"}, "config alias.x !sh");
  expect_refused({"config", "--add", "a.b", "c"}, "option '--add'");
  expect_refused({"config", "--replace-all", "a.b", "c"}, "option '--replace-all'");
  expect_refused({"config", "--unset", "a.b"}, "option '--unset'");
  expect_refused({"config", "--unset-all", "a.b"}, "option '--unset-all'");
  expect_refused({"config", "--rename-section", "a", "b"}, "option '--rename-section'");
  expect_refused({"config", "--remove-section", "a"}, "option '--remove-section'");
  expect_refused({"config", "--edit"}, "option '--edit'");
  expect_refused({"config", "-e"}, "option '-e'");
  expect_refused({"config", "-le"}, "option '-e'");
  expect_refused({"config", "--get-r", "x"}, "option '--get-r'");  // abbreviations: spell it out
  expect_refused({"config", "--no-such-option", "x"}, "option '--no-such-option'");
}

TEST(GitGuard, RefusesRebaseExec) {
  expect_refused({"rebase", "--exec", "make", "main"}, "option '--exec'");
  expect_refused({"rebase", "--exec=make", "main"}, "option '--exec'");
  expect_refused({"rebase", "--exe=make", "main"}, "option '--exe'");
  expect_refused({"rebase", "-x", "make", "main"}, "option '-x'");
  expect_refused({"rebase", "-xmake", "main"}, "option '-x'");
  expect_refused({"rebase", "-ix", "make", "main"}, "option '-x'");
  expect_refused({"rebase", "main", "--interactive", "--exec", "make"}, "option '--exec'");
}

TEST(GitGuard, RefusesMergeStrategiesThatArePaths) {
  expect_refused({"rebase", "-s", "x/evil", "main"}, "option '-s x/evil'");
  expect_refused({"rebase", "-sx/evil", "main"}, "option '-sx/evil'");
  expect_refused({"rebase", "--strategy=x/evil", "main"}, "option '--strategy=x/evil'");
  expect_refused({"rebase", "--strategy", "x/evil", "main"}, "option '--strategy x/evil'");
  expect_refused({"rebase", "--strat", "x/evil", "main"}, "option '--strat x/evil'");
  expect_refused({"merge", "-s", "x/evil", "topic"}, "option '-s x/evil'");
  expect_refused({"merge", "-nsx/evil", "topic"}, "option '-sx/evil'");
  expect_refused({"merge", "--strategy=../evil", "topic"}, "option '--strategy=../evil'");
  expect_refused({"pull", "-s", "x/evil"}, "option '-s x/evil'");
  expect_refused({"pull", "--rebase", "--strategy=x/evil"}, "option '--strategy=x/evil'");
  expect_refused({"cherry-pick", "--strategy", "x/evil", "HEAD"}, "option '--strategy x/evil'");
  expect_refused({"revert", "--strategy=x/evil", "HEAD"}, "option '--strategy=x/evil'");
}

TEST(GitGuard, AllowsRebaseAndMergeLookAlikes) {
  expect_allowed({"rebase", "-i", "main"});
  expect_allowed({"rebase", "-m", "origin/main"});  // a positional with '/' is not a strategy
  expect_allowed({"rebase", "-s", "ort", "-X", "theirs", "origin/main"});
  expect_allowed({"rebase", "--onto", "origin/main", "a/b"});
  expect_allowed({"rebase", "-X", "x/y", "main"});
  expect_allowed({"rebase", "--strategy-option=subtree=a/b", "main"});
  expect_allowed({"rebase", "-C", "3", "-r", "--autosquash", "main"});
  expect_allowed({"rebase", "--", "-x"});
  expect_allowed({"merge", "-s", "ours", "feature/x"});
  expect_allowed({"merge", "--strategy=recursive", "-X", "theirs", "origin/feature"});
  expect_allowed({"merge", "-m", "-s x/y", "topic"});  // a message
  expect_allowed({"pull", "-s", "ort", "origin", "main"});
  expect_allowed({"pull", "--rebase", "origin", "main"});
  expect_allowed({"cherry-pick", "-x", "HEAD"});  // record the origin
  expect_allowed({"cherry-pick", "-s", "x/y"});   // --signoff, then a commit
  expect_allowed({"cherry-pick", "-m", "1", "HEAD"});
  expect_allowed({"revert", "-s", "HEAD"});
}

TEST(GitGuard, RefusesDiffAndMergeToolsNamedByTheCaller) {
  expect_refused({"difftool", "-x", "sh"}, "option '-x'");
  expect_refused({"difftool", "-yx", "sh"}, "option '-x'");
  expect_refused({"difftool", "--extcmd=sh"}, "option '--extcmd'");
  expect_refused({"difftool", "--extcmd", "sh"}, "option '--extcmd'");
  expect_refused({"difftool", "--ext=sh"}, "option '--ext'");
  expect_refused({"difftool", "-t", "../../tmp/evil"}, "option '-t ../../tmp/evil'");
  expect_refused({"difftool", "-yt../x"}, "option '-t../x'");
  expect_refused({"difftool", "--tool=../x"}, "option '--tool=../x'");
  expect_refused({"difftool", "--tool", "../x", "HEAD"}, "option '--tool ../x'");
  expect_refused({"mergetool", "-t", "../x"}, "option '-t ../x'");
  expect_refused({"mergetool", "--tool=../x"}, "option '--tool=../x'");
  expect_refused({"mergetool", "--toolx=../x"}, "option '--toolx=../x'");
  expect_refused({"mergetool", "--tool-helpx", "../x"}, "option '--tool-helpx ../x'");
}

TEST(GitGuard, AllowsDiffAndMergeToolLookAlikes) {
  expect_allowed({"difftool", "-t", "vimdiff", "HEAD"});
  expect_allowed({"difftool", "--tool=meld", "-y", "HEAD~1", "src/a.cc"});
  expect_allowed({"difftool", "--tool-help"});
  expect_allowed({"difftool", "-y", "--", "src/a.cc"});
  expect_allowed({"mergetool", "-t", "vimdiff"});
  expect_allowed({"mergetool", "--tool-help"});
  expect_allowed({"mergetool", "-Oorder/file", "a/b.c"});
}

TEST(GitGuard, RefusesGrepPagerPrograms) {
  expect_refused({"grep", "-Otouch", "x"}, "option '-Otouch'");
  expect_refused({"grep", "-nO/tmp/evil", "x"}, "option '-O/tmp/evil'");
  expect_refused({"grep", "--open-files-in-pager=vim", "x"}, "option '--open-files-in-pager=vim'");
  expect_refused({"grep", "--open=vim", "x"}, "option '--open=vim'");
}

TEST(GitGuard, AllowsGrepLookAlikes) {
  expect_allowed({"grep", "-O", "pattern"});  // the configured pager
  expect_allowed({"grep", "--open-files-in-pager", "pattern"});
  expect_allowed({"grep", "-c", "foo"});
  expect_allowed({"grep", "-e", "-Ovim"});  // a pattern
  expect_allowed({"grep", "-ie", "-Ovim", "--", "a/b"});
  expect_allowed({"grep", "-C", "3", "-f", "patterns/file", "x"});
}

TEST(GitGuard, RefusesSubmoduleForeach) {
  expect_refused({"submodule", "foreach", "sh -c x"}, "subcommand 'submodule foreach'");
  expect_refused({"submodule", "--quiet", "foreach", "x"}, "subcommand 'submodule foreach'");
  expect_refused({"submodule", "-q", "--cached", "foreach", "x"}, "'submodule foreach'");
  expect_allowed({"submodule"});
  expect_allowed({"submodule", "status", "--", "foreach"});  // a path called foreach
  expect_allowed({"submodule", "update", "--init", "--recursive"});
  expect_allowed({"submodule", "--quiet", "sync"});
}

TEST(GitGuard, RefusesBisectRunAndProgramsViaBisectView) {
  expect_refused({"bisect", "run", "make", "test"}, "subcommand 'bisect run'");
  expect_refused({"bisect", "view", "tig"}, "subcommand 'bisect view tig'");
  expect_refused({"bisect", "visualize", "gitk"}, "subcommand 'bisect view gitk'");
  expect_refused({"bisect", "view", "git-evil"}, "subcommand 'bisect view git-evil'");
  expect_refused({"bisect", "view", "submodule", "foreach", "x"}, "'submodule foreach'");
  expect_refused({"bisect", "view", "config", "a.b", "c"}, "config a.b c");
  expect_refused({"bisect", "visualize", "my-alias"}, "subcommand 'my-alias'");
  expect_allowed({"bisect", "start"});
  expect_allowed({"bisect", "good", "HEAD~3"});
  expect_allowed({"bisect", "bad"});
  expect_allowed({"bisect", "view"});
  expect_allowed({"bisect", "view", "--stat", "-c"});  // git log --stat -c
  expect_allowed({"bisect", "view", "log", "--oneline"});
  expect_allowed({"bisect", "reset"});
}

TEST(GitGuard, RefusesHookNamesOutsideTheHooksDirectory) {
  expect_refused({"hook", "run", "../../../tmp/evil"}, "hook name '../../../tmp/evil'");
  expect_refused({"hook", "run", "--ignore-missing", "a/b"}, "hook name 'a/b'");
  expect_allowed({"hook", "run", "pre-commit"});
  expect_allowed({"hook", "run", "--to-stdin", "in/put", "pre-push", "--", "a/b"});
}

TEST(GitGuard, AllowsOnlyMaintenanceRun) {
  expect_allowed({"maintenance", "run"});
  expect_allowed({"maintenance", "run", "--task=gc"});
  expect_refused({"maintenance", "start"}, "subcommand 'maintenance start'");
  expect_refused({"maintenance", "register"}, "subcommand 'maintenance register'");
  expect_refused({"maintenance", "unregister"}, "subcommand 'maintenance unregister'");
  expect_refused({"maintenance", "stop"}, "subcommand 'maintenance stop'");
}

TEST(GitGuard, RefusesOutputToAFile) {
  expect_refused({"log", "--format=%B", "--output=.git/config"}, "option '--output'");
  expect_refused({"log", "--output", ".git/config"}, "option '--output'");
  expect_refused({"diff", "--output=x"}, "option '--output'");
  expect_refused({"show", "--output=x", "HEAD"}, "option '--output'");
  expect_refused({"format-patch", "--output=x", "-1"}, "option '--output'");
  expect_refused({"blame", "--output=x", "f"}, "option '--output'");
  expect_refused({"bisect", "view", "log", "--output=x"}, "option '--output'");
}

TEST(GitGuard, AllowsOutputLookAlikes) {
  expect_allowed({"archive", "--output=x.tar", "HEAD"});
  expect_allowed({"archive", "-o", "x.tar", "HEAD"});
  expect_allowed({"format-patch", "-o", "out", "HEAD~1"});
  expect_allowed({"format-patch", "--output-directory", "out", "HEAD~1"});
  expect_allowed({"log", "--", "--output=x"});  // a path
}

TEST(GitGuard, AllowsLegitimateLookAlikes) {
  expect_allowed({"add", "-u"});
  expect_allowed({"add", "--", "-c"});
  expect_allowed({"commit", "-u"});
  expect_allowed({"commit", "-uno", "-m", "x"});
  expect_allowed({"commit", "--untracked-files=all", "-m", "x"});
  expect_allowed({"commit", "-m", "-c"});
  expect_allowed({"commit", "-m", "-x make"});
  expect_allowed({"commit", "-am", "rebase --exec-free message"});
  expect_allowed({"status", "-u"});
  expect_allowed({"status", "-uall", "--short"});
  expect_allowed({"log", "-c"});
  expect_allowed({"log", "--grep=-c", "-p"});
  expect_allowed({"diff", "-c"});
  expect_allowed({"show", "-c", "HEAD"});
  expect_allowed({"branch", "-u", "origin/main"});
  expect_allowed({"tag", "-u", "KEYID", "-m", "release", "v1"});
  expect_allowed({"clean", "-xfd"});
  expect_allowed({"grep", "-c", "x"});
  expect_allowed({"stash", "push", "-m", "-x"});
  expect_allowed({"checkout", "-b", "feature/exec"});
  expect_allowed({"switch", "-c", "new-branch"});  // switch -c creates a branch
}

TEST(GitGuard, HttpFetchMayNotWriteUnderTheGitDirectory) {
  expect_refused({"http-fetch", "-w", "../config", "abc", "http://x"}, "option '-w'");
  expect_refused({"http-fetch", "--index-pack-args=-o", "http://x"}, "option '--index-pack-args'");
  expect_allowed({"http-fetch", "-a", "abc", "http://x"});
}

TEST(GitGuard, ErrsOnTheSafeSideForValuesThatLookLikeRefusedOptions) {
  // Documented limits: these are refused although git would read them as values.
  expect_refused({"commit", "-m", "--exec"}, "option '--exec'");
  expect_refused({"log", "--grep", "--output=x"}, "option '--output'");
  // A path after "--" that abbreviates a transport option: pull and friends make that unsafe.
  expect_refused({"add", "--", "--upload"}, "option '--upload'");
}

TEST(GitGuardEnv, AllowsOnlyIdentity) {
  EXPECT_NO_THROW(check_git_env({}));
  EXPECT_NO_THROW(
      check_git_env({{"GIT_AUTHOR_NAME", "agent-3"}, {"GIT_COMMITTER_EMAIL", "a3@example.com"}}));
  for (const char* name : {"GIT_CONFIG_COUNT", "GIT_CONFIG_KEY_0", "GIT_SSH_COMMAND",
                           "GIT_EXTERNAL_DIFF", "GIT_EXEC_PATH", "PATH", "LD_PRELOAD", "GIT_DIR"}) {
    try {
      check_git_env({{name, "x"}});
      ADD_FAILURE() << name << " was allowed";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), Error::Kind::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos);
    }
  }
}

TEST(GitGuardEnv, ACompleteEnvironmentRefusesWhatPicksTheRepositoryOrRunsPrograms) {
  EXPECT_NO_THROW(check_git_env({{"PATH", "/usr/bin"},
                                 {"HOME", "/home/a"},
                                 {"LANG", "C.UTF-8"},
                                 {"HARNESS_WORKER_ID", "w"},
                                 {"GIT_AUTHOR_NAME", "a"},
                                 {"GIT_TERMINAL_PROMPT", "0"},
                                 {"EDITOR", "vim"}},
                                true));
  for (const char* name :
       {"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR", "GIT_CEILING_DIRECTORIES",
        "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_KEY_0", "GIT_SSH_COMMAND", "GIT_ASKPASS", "GIT_TRACE",
        "GIT_EXEC_PATH", "SSH_ASKPASS", "LD_PRELOAD", "BASH_ENV"}) {
    EXPECT_TRUE(is_refused_git_variable(name)) << name;
    try {
      check_git_env({{name, "x"}}, true);
      ADD_FAILURE() << name << " was allowed";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos);
    }
  }
  EXPECT_TRUE(is_git_repository_variable("GIT_DIR"));
  EXPECT_FALSE(is_git_repository_variable("GIT_AUTHOR_NAME"));
}

TEST(GitGuardEnv, GitRunsWithoutEditorPromptOrPagerAndWithoutTheDaemonsRepositoryVariables) {
  const std::map<std::string, std::string> daemon{
      {"PATH", "/daemon"}, {"GIT_DIR", "/nonexistent"}, {"EDITOR", "vim"}};
  auto merged = git_environment({{"GIT_AUTHOR_NAME", "a"}}, false, daemon);
  EXPECT_EQ(merged.at("PATH"), "/daemon");
  EXPECT_EQ(merged.count("GIT_DIR"), 0u);
  EXPECT_EQ(merged.at("GIT_AUTHOR_NAME"), "a");
  auto complete = git_environment({{"PATH", "/caller"}}, true, daemon);
  EXPECT_EQ(complete.at("PATH"), "/caller");
  for (const auto& env : {merged, complete}) {
    for (const char* editor : {"GIT_EDITOR", "GIT_SEQUENCE_EDITOR", "EDITOR", "VISUAL"}) {
      EXPECT_EQ(env.at(editor), "false");
    }
    EXPECT_EQ(env.at("GIT_TERMINAL_PROMPT"), "0");
    EXPECT_EQ(env.at("GIT_PAGER"), "cat");
  }
}

// A repository laid out on disk as git would find it: R/.git with HEAD, objects and refs.
class GitPaths : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            ("harness-git-paths-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(root_);
    for (const char* dir :
         {"repo/.git/objects", "repo/.git/refs", "repo/.git/hooks", "repo/src", "repo/build"}) {
      std::filesystem::create_directories(root_ / dir);
    }
    std::ofstream(root_ / "repo/.git/HEAD") << "ref: refs/heads/main\n";
    std::filesystem::create_directory_symlink(".git", repo() / "to-git");
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::filesystem::path repo() const { return root_ / "repo"; }

  void refused(const Args& args, const std::filesystem::path& cwd) {
    EXPECT_THROW(check_git_paths(args, cwd), Error) << ::testing::PrintToString(args);
  }
  void allowed(const Args& args, const std::filesystem::path& cwd) {
    EXPECT_NO_THROW(check_git_paths(args, cwd)) << ::testing::PrintToString(args);
  }

  std::filesystem::path root_;
};

TEST_F(GitPaths, RefusesEveryFormThatWritesInsideTheGitDirectory) {
  const auto top = repo();
  const auto sub = repo() / "src";
  for (const Args& args : std::vector<Args>{
           {"checkout-index", "-f", "--prefix=.git/", "--", "config"},
           {"checkout-index", "--prefix", ".git/hooks/", "-a"},
           {"checkout-index", "--pref=.git/", "-a"},
           {"checkout-index", "--prefix=build/../.git/", "-a"},
           {"checkout-index", "--prefix=to-git/", "-a"},
           {"read-tree", "--prefix=.git/", "-u", "HEAD"},
           {"archive", "-o", ".git/config", "HEAD"},
           {"archive", "-o.git/config", "HEAD"},
           {"archive", "-vo", ".git/config", "HEAD"},
           {"archive", "--output", ".git/config", "HEAD"},
           {"archive", "--out=to-git/config", "HEAD"},
           {"bundle", "create", ".git/config", "HEAD"},
           {"format-patch", "-o", ".git/hooks", "HEAD"},
           {"format-patch", "--output-directory=.git", "HEAD"},
           {"bugreport", "-o", ".git"},
           {"diagnose", "--output-directory=.git/x"},
           {"index-pack", "-o", ".git/x.idx", "p.pack"},
           {"mailsplit", "-o.git/hooks", "mbox"},
           {"apply", "--directory=.git", "x.patch"},
           {"am", "--directory", ".git", "x.mbox"},
           {"init", ".git/inner"},
           {"init", "--separate-git-dir=.git/x", "elsewhere"},
           {"clone", ".", ".git/clone"},
           {"clone", "--separate-git-dir", ".git/y", ".", "../c"},
           {"worktree", "add", ".git/wt"},
           {"worktree", "move", "wt", ".git/wt"},
           {"submodule", "add", "../other", ".git/sm"},
           {"merge-file", ".git/config", "a", "b"},
           {"interpret-trailers", "--in-place", ".git/config"},
           {"pack-objects", ".git/hooks/pre"},
           {"fast-export", "--export-marks=.git/config", "HEAD"},
           {"fast-import", "--export-marks=.git/config"},
           {"fast-import", "--export-pack-edges=.git/config"},
           {"mailinfo", ".git/hooks/pre-commit", "patch"},
           {"credential-store", "--file=.git/config", "store"},
           {"-C", ".git", "status"},
           {"-C", "src", "-C", "../.git", "log"},
           {"--work-tree=.git", "checkout", "-f"},
           {"--work-tree", "to-git", "checkout", "-f"},
           {"--git-dir=" + root_.string(), "status"},
           {"--git-dir", "elsewhere/.git", "status"},
       }) {
    refused(args, top);
  }
  // Relative to a subdirectory: checkout-index's prefix is taken from the top level.
  refused({"checkout-index", "--prefix=.git/", "-a"}, sub);
  refused({"archive", "-o", "../.git/config", "HEAD"}, sub);
  // Absolute paths, and a cwd inside the git directory.
  refused({"archive", "-o", (repo() / ".git/config").string(), "HEAD"}, top);
  refused({"status"}, repo() / ".git");
  refused({"archive", "-o", "config", "HEAD"}, repo() / ".git/hooks");
}

TEST_F(GitPaths, AllowsLegitimateLookAlikes) {
  const auto top = repo();
  for (const Args& args : std::vector<Args>{
           {"checkout-index", "--prefix=build/", "-a"},
           {"checkout-index", "--prefix=.git-export/", "-a"},
           {"checkout-index", "--prefix=.git", "-a"},  // files named .git<path> in the top level
           {"checkout-index", "-f", "--", ".git"},     // an index path, not a place to write
           {"read-tree", "--prefix=vendor/", "HEAD"},
           {"archive", "-o", "out.tar", "HEAD"},
           {"archive", "--output=build/out.tar.gz", "HEAD"},
           {"archive", "-o", "../out.tar", "HEAD"},
           {"bundle", "create", "repo.bundle", "HEAD"},
           {"format-patch", "-o", "patches", "HEAD~1"},
           {"apply", "--directory=src", "x.patch"},
           {"worktree", "add", "../wt"},
           {"clone", ".", "../copy"},
           {"init", "../fresh"},
           {"log", "--", ".git"},
           {"show", "HEAD:.gitignore"},
           {"-C", "src", "status"},
           {"-C", ".", "status"},
           {"--git-dir=.git", "--work-tree=.", "status"},
           {"--git-dir", "to-git", "status"},  // a symlink to the repository's own git dir
           {"status"},
       }) {
    allowed(args, top);
  }
  allowed({"archive", "-o", "out.tar", "HEAD"}, repo() / "src");
}

TEST_F(GitPaths, ProtectsTheDaemonsOwnRepositoryFromElsewhere) {
  const auto other = root_ / "other";
  std::filesystem::create_directories(other);
  EXPECT_THROW(check_git_paths({"archive", "-o", (repo() / ".git/config").string(), "HEAD"}, other,
                               git_directories(repo())),
               Error);
  EXPECT_NO_THROW(
      check_git_paths({"archive", "-o", "x.tar", "HEAD"}, other, git_directories(repo())));
}

TEST_F(GitPaths, OtherRepositoriesAndTheUsersConfigurationAreProtectedToo) {
  const auto top = repo();
  refused({"checkout-index", "--prefix=../other/.git/", "-a"}, top);
  refused({"archive", "-o", "../other/.git/config", "HEAD"}, top);
  const auto home = root_ / "home";
  std::filesystem::create_directories(home);
  const auto config = git_config_locations({{"HOME", home.string()}});
  // A committed file named "gitconfig" checked out with this prefix lands on ~/.gitconfig.
  EXPECT_THROW(
      check_git_paths({"checkout-index", "--prefix=" + home.string() + "/.", "-a"}, top, config),
      Error);
  EXPECT_THROW(
      check_git_paths({"checkout-index", "--prefix=" + home.string() + "/.config/git/", "-a"}, top,
                      config),
      Error);
  EXPECT_THROW(check_git_paths({"apply", "--directory=" + home.string(), "x.patch"}, top, config),
               Error);
  EXPECT_NO_THROW(check_git_paths(
      {"checkout-index", "--prefix=" + (home / "export").string() + "/", "-a"}, top, config));
  EXPECT_NO_THROW(check_git_paths({"checkout-index", "--prefix=build/", "-a"}, top, config));
  EXPECT_EQ(git_config_locations({{"XDG_CONFIG_HOME", "/x"}}).size(), 1u);
}

TEST_F(GitPaths, ALinkedWorktreeProtectsItsGitDirAndTheCommonOne) {
  const auto linked = root_ / "linked";
  std::filesystem::create_directories(linked);
  std::filesystem::create_directories(repo() / ".git/worktrees/linked");
  std::ofstream(linked / ".git") << "gitdir: " << (repo() / ".git/worktrees/linked").string()
                                 << "\n";
  std::ofstream(repo() / ".git/worktrees/linked/commondir") << "../..\n";
  EXPECT_THROW(
      check_git_paths({"archive", "-o", (repo() / ".git/config").string(), "HEAD"}, linked), Error);
  EXPECT_THROW(
      check_git_paths({"archive", "-o", (repo() / ".git/worktrees/linked/HEAD").string(), "HEAD"},
                      linked),
      Error);
  EXPECT_NO_THROW(check_git_paths({"archive", "-o", "out.tar", "HEAD"}, linked));
}

}  // namespace
}  // namespace harness
