#include "cli/cli_context.h"

#include <gtest/gtest.h>

#include <stdlib.h>

#include <filesystem>
#include <string>

#include "testing/temp_dir.h"

namespace harness {
namespace {

namespace fs = std::filesystem;

using test_support::TempDir;

// HARNESS_WORKTREE names a repository of its own and HARNESS_SOCKET a socket of its own, for
// the flags to be told apart from.
class CliContextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directory(env_worktree.path() / ".git");
    ::setenv("HARNESS_WORKTREE", env_worktree.path().c_str(), 1);
    ::setenv("HARNESS_SOCKET", "/tmp/from-env.sock", 1);
  }
  void TearDown() override {
    ::unsetenv("HARNESS_WORKTREE");
    ::unsetenv("HARNESS_SOCKET");
  }

  TempDir env_worktree{"harness-env-worktree"};
  TempDir flag_worktree{"harness-flag-worktree"};
};

TEST_F(CliContextTest, WithoutFlagsTheEnvironmentDecides) {
  CliContext ctx;
  EXPECT_EQ(ctx.worktree(), fs::canonical(env_worktree.path()));
  EXPECT_EQ(ctx.socket(), "/tmp/from-env.sock");
  EXPECT_EQ(ctx.client().socket, "/tmp/from-env.sock");
}

TEST_F(CliContextTest, FlagsWinForThisCallWithoutChangingTheEnvironment) {
  CliContext ctx;
  ctx.flags.worktree = flag_worktree.path().string();
  ctx.flags.socket = "/tmp/from-flag.sock";
  EXPECT_EQ(ctx.worktree(), fs::canonical(flag_worktree.path()));
  EXPECT_EQ(ctx.socket(), "/tmp/from-flag.sock");
  const ClientOptions options = ctx.client();
  EXPECT_EQ(options.socket, "/tmp/from-flag.sock");
  EXPECT_EQ(options.worktree, fs::canonical(flag_worktree.path()));
  EXPECT_EQ(std::string(::getenv("HARNESS_WORKTREE")), env_worktree.path().string());
  EXPECT_EQ(std::string(::getenv("HARNESS_SOCKET")), "/tmp/from-env.sock");
}

TEST_F(CliContextTest, AnEmptyFlagCountsAsNotGiven) {
  CliContext ctx;
  ctx.flags.worktree = "";
  ctx.flags.socket = "";
  EXPECT_EQ(ctx.worktree(), fs::canonical(env_worktree.path()));
  EXPECT_EQ(ctx.socket(), "/tmp/from-env.sock");
}

TEST_F(CliContextTest, ClientOptionsFollowTheVerbAndAnyWorktree) {
  CliContext ctx;
  EXPECT_TRUE(ctx.client().autospawn);
  EXPECT_TRUE(ctx.client().check_worktree);
  EXPECT_TRUE(ctx.client().read_timeout);
  EXPECT_FALSE(ctx.client(false).autospawn);
  ctx.flags.any_worktree = true;
  EXPECT_FALSE(ctx.client().check_worktree);
}

}  // namespace
}  // namespace harness
