#include "cli/verbs_command.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace harness {
namespace {

using Words = std::vector<std::string>;

TEST(SplitCommand, EverythingAfterTheDashesOfExecIsTheCommand) {
  const SplitArgs split = split_command({"exec", "--timeout", "5", "--", "sh", "-c", "-e", "--"});
  EXPECT_EQ(split.verb, "exec");
  EXPECT_EQ(split.harness, (Words{"exec", "--timeout", "5"}));
  ASSERT_TRUE(split.command);
  EXPECT_EQ(*split.command, (Words{"sh", "-c", "-e", "--"}));
}

TEST(SplitCommand, GitSplitsAtItsFirstDashesToo) {
  const SplitArgs split = split_command({"git", "log", "--", "file"});
  EXPECT_EQ(split.harness, (Words{"git", "log"}));
  ASSERT_TRUE(split.command);
  EXPECT_EQ(*split.command, (Words{"file"}));
}

TEST(SplitCommand, NothingAfterTheDashesIsAnEmptyCommand) {
  const SplitArgs split = split_command({"exec", "--"});
  ASSERT_TRUE(split.command);
  EXPECT_TRUE(split.command->empty());
}

// exec without "--", and any other verb whatever follows it.
TEST(SplitCommand, WithoutTheDashesOfExecOrGitTheLineGoesToCli11Whole) {
  for (const Words& args : {Words{"exec", "ls", "-l"}, Words{"status", "--", "exec"}}) {
    const SplitArgs split = split_command(args);
    EXPECT_EQ(split.verb, args.front());
    EXPECT_EQ(split.harness, args);
    EXPECT_FALSE(split.command) << args.front();
  }
}

TEST(SplitCommand, TheValuesOfSocketAndWorktreeAreNotTheVerb) {
  const SplitArgs split =
      split_command({"--socket", "exec", "--any-worktree", "--worktree", "git", "ping", "--", "x"});
  EXPECT_EQ(split.verb, "ping");
  EXPECT_FALSE(split.command);
}

TEST(SplitCommand, GlobalOptionsBeforeTheVerbStayWithHarness) {
  const SplitArgs split = split_command({"--worktree", "/w", "exec", "--", "env"});
  EXPECT_EQ(split.verb, "exec");
  EXPECT_EQ(split.harness, (Words{"--worktree", "/w", "exec"}));
  EXPECT_EQ(*split.command, (Words{"env"}));
}

TEST(SplitCommand, NoVerb) {
  const SplitArgs split = split_command({"--version"});
  EXPECT_EQ(split.verb, "");
  EXPECT_FALSE(split.command);
}

TEST(CommandHint, OnlyForExecAndGitWithoutDashes) {
  EXPECT_EQ(command_hint(split_command({"git", "status", "--porcelain"})),
            "put the command after '--': harness git [OPTIONS] -- ARGS...");
  EXPECT_EQ(command_hint(split_command({"exec", "ls", "-l"})),
            "put the command after '--': harness exec [OPTIONS] -- CMD ARGS...");
  EXPECT_EQ(command_hint(split_command({"exec", "--bogus", "--", "ls"})), "");
  EXPECT_EQ(command_hint(split_command({"status", "--bogus"})), "");
}

}  // namespace
}  // namespace harness
