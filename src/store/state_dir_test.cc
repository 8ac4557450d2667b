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

}  // namespace
}  // namespace harness
