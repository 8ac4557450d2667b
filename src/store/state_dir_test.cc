#include "store/state_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "core/error.h"

namespace harness {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class StateDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (fs::temp_directory_path() / "harness-state-dir-XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    root_ = templ;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  static std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  static unsigned mode_of(const fs::path& p) {
    struct stat st;
    EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
    return st.st_mode;
  }

  fs::path root_;
};

TEST_F(StateDirTest, Paths) {
  const fs::path w = "/some/worktree";
  EXPECT_EQ(state_dir(w), fs::path("/some/worktree/.harness"));
  EXPECT_EQ(state_db_path(w), fs::path("/some/worktree/.harness/state.db"));
  EXPECT_EQ(trajectory_path(w), fs::path("/some/worktree/.harness/trajectory.jsonl"));
  EXPECT_EQ(daemon_log_path(w), fs::path("/some/worktree/.harness/daemon.log"));
  EXPECT_EQ(legacy_state_path(w), fs::path("/some/worktree/.claude/dev-workflow-state.json"));
}

TEST_F(StateDirTest, CreatesPrivateDirWithGitignore) {
  ensure_state_dir(root_);
  const fs::path dir = root_ / ".harness";
  const unsigned mode = mode_of(dir);
  EXPECT_TRUE(S_ISDIR(mode));
  EXPECT_EQ(mode & 07777, 0700u);
  EXPECT_TRUE(S_ISREG(mode_of(dir / ".gitignore")));
  EXPECT_EQ(read(dir / ".gitignore"), "*\n");
}

TEST_F(StateDirTest, Idempotent) {
  ensure_state_dir(root_);
  // Something the daemon wrote meanwhile must survive.
  { std::ofstream(root_ / ".harness" / "state.db") << "data"; }
  ASSERT_NO_THROW(ensure_state_dir(root_));
  ASSERT_NO_THROW(ensure_state_dir(root_));
  EXPECT_EQ(read(root_ / ".harness" / ".gitignore"), "*\n");
  EXPECT_EQ(read(root_ / ".harness" / "state.db"), "data");
  EXPECT_EQ(mode_of(root_ / ".harness") & 07777, 0700u);
}

TEST_F(StateDirTest, DoesNotOverwriteAnExistingGitignore) {
  fs::create_directory(root_ / ".harness");
  { std::ofstream(root_ / ".harness" / ".gitignore") << "custom\n"; }
  ensure_state_dir(root_);
  EXPECT_EQ(read(root_ / ".harness" / ".gitignore"), "custom\n");
}

TEST_F(StateDirTest, AddsGitignoreToAnExistingDir) {
  fs::create_directory(root_ / ".harness");
  ensure_state_dir(root_);
  EXPECT_EQ(read(root_ / ".harness" / ".gitignore"), "*\n");
}

TEST_F(StateDirTest, FailsWhenHarnessIsARegularFile) {
  { std::ofstream(root_ / ".harness") << "not a dir"; }
  try {
    ensure_state_dir(root_);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kIo);
    EXPECT_THAT(e.what(), HasSubstr(".harness"));
    EXPECT_THAT(e.what(), HasSubstr("not a directory"));
  }
  // Nothing was changed.
  EXPECT_EQ(read(root_ / ".harness"), "not a dir");
}

TEST_F(StateDirTest, FailsWhenHarnessIsASymlinkToADirectory) {
  fs::create_directory(root_ / "elsewhere");
  fs::create_directory_symlink(root_ / "elsewhere", root_ / ".harness");
  try {
    ensure_state_dir(root_);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kIo);
    EXPECT_THAT(e.what(), HasSubstr("not a directory"));
  }
  EXPECT_FALSE(fs::exists(root_ / "elsewhere" / ".gitignore"));
}

TEST_F(StateDirTest, FailsWhenWorktreeIsMissing) {
  try {
    ensure_state_dir(root_ / "missing");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kIo);
    EXPECT_THAT(e.what(), HasSubstr("cannot create"));
  }
  EXPECT_FALSE(fs::exists(root_ / "missing"));
}

// ---- where the state lives in a git worktree (issue 13: `git clean -fdx` deleted W/.harness) ----

TEST_F(StateDirTest, InAGitRepositoryTheStateIsUnderItsGitDirectory) {
  fs::create_directories(root_ / ".git");
  fs::create_directories(root_ / "sub" / "deeper");
  EXPECT_EQ(state_dir(root_), root_ / ".git" / "harness");
  EXPECT_EQ(state_db_path(root_), root_ / ".git" / "harness" / "state.db");
  EXPECT_EQ(trajectory_path(root_), root_ / ".git" / "harness" / "trajectory.jsonl");
  EXPECT_EQ(daemon_log_path(root_), root_ / ".git" / "harness" / "daemon.log");
  // A worktree below the top level belongs to the same repository (git's own search).
  EXPECT_EQ(state_dir(root_ / "sub" / "deeper"), root_ / ".git" / "harness");
  // The Python original's file stays where it was.
  EXPECT_EQ(legacy_state_path(root_), root_ / ".claude" / "dev-workflow-state.json");
}

TEST_F(StateDirTest, ALinkedWorktreeOrSubmoduleUsesTheGitDirItsGitFileNames) {
  const fs::path main_git = root_ / "main" / ".git" / "worktrees" / "feature";
  fs::create_directories(main_git);
  fs::create_directories(root_ / "feature");
  { std::ofstream(root_ / "feature" / ".git") << "gitdir: " << main_git.string() << "\n"; }
  EXPECT_EQ(state_dir(root_ / "feature"), main_git / "harness");

  // Relative to the .git file's directory, as submodules write it.
  fs::create_directories(root_ / "main" / ".git" / "modules" / "lib");
  fs::create_directories(root_ / "main" / "lib");
  { std::ofstream(root_ / "main" / "lib" / ".git") << "gitdir: ../.git/modules/lib\n"; }
  EXPECT_EQ(state_dir(root_ / "main" / "lib"),
            root_ / "main" / ".git" / "modules" / "lib" / "harness");
}

TEST_F(StateDirTest, EnsureCreatesThePrivateDirectoryUnderTheGitDirectory) {
  fs::create_directories(root_ / ".git");
  ensure_state_dir(root_);
  EXPECT_EQ(mode_of(root_ / ".git" / "harness") & 07777, 0700u);
  EXPECT_FALSE(fs::exists(root_ / ".harness"));
}

TEST_F(StateDirTest, AnOldHarnessDirectoryIsMovedOnceKeepingOpenFiles) {
  fs::create_directories(root_ / ".harness");
  { std::ofstream(root_ / ".harness" / "state.db") << "db"; }
  { std::ofstream(root_ / ".harness" / "trajectory.jsonl") << "{}\n"; }
  // A daemon of an earlier version still has its file open: its writes must not be lost.
  std::ofstream still_open(root_ / ".harness" / "state.db", std::ios::app);
  fs::create_directories(root_ / ".git");

  EXPECT_EQ(existing_state_db(root_), root_ / ".git" / "harness" / "state.db");
  EXPECT_FALSE(fs::exists(root_ / ".harness"));
  still_open << "+more" << std::flush;
  EXPECT_EQ(read(root_ / ".git" / "harness" / "state.db"), "db+more");
  EXPECT_EQ(read(root_ / ".git" / "harness" / "trajectory.jsonl"), "{}\n");
  ASSERT_NO_THROW(ensure_state_dir(root_));  // once: nothing more to do
  EXPECT_EQ(read(root_ / ".git" / "harness" / "state.db"), "db+more");
}

TEST_F(StateDirTest, StateInBothPlacesIsRefusedAndNothingMoves) {
  fs::create_directories(root_ / ".harness");
  { std::ofstream(root_ / ".harness" / "state.db") << "old"; }
  fs::create_directories(root_ / ".git" / "harness");
  { std::ofstream(root_ / ".git" / "harness" / "state.db") << "new"; }
  for (auto call : {+[](const fs::path& w) { ensure_state_dir(w); },
                    +[](const fs::path& w) { existing_state_db(w); }}) {
    try {
      call(root_);
      FAIL() << "expected an error";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), Error::Kind::kConflict);
      EXPECT_THAT(e.what(), HasSubstr((root_ / ".harness").string()));
      EXPECT_THAT(e.what(), HasSubstr((root_ / ".git" / "harness").string()));
    }
  }
  EXPECT_EQ(read(root_ / ".harness" / "state.db"), "old");
  EXPECT_EQ(read(root_ / ".git" / "harness" / "state.db"), "new");
}

TEST_F(StateDirTest, AnOldDirectoryWithoutStateIsLeftAlone) {
  fs::create_directories(root_ / ".harness");
  { std::ofstream(root_ / ".harness" / "daemon.log") << "log"; }
  fs::create_directories(root_ / ".git" / "harness");
  EXPECT_EQ(existing_state_db(root_), fs::path());
  ASSERT_NO_THROW(ensure_state_dir(root_));
  EXPECT_EQ(read(root_ / ".harness" / "daemon.log"), "log");
}

TEST_F(StateDirTest, OutsideGitNothingMoves) {
  fs::create_directories(root_ / ".harness");
  { std::ofstream(root_ / ".harness" / "state.db") << "db"; }
  EXPECT_EQ(existing_state_db(root_), root_ / ".harness" / "state.db");
  EXPECT_EQ(read(root_ / ".harness" / "state.db"), "db");
}

}  // namespace
}  // namespace harness
