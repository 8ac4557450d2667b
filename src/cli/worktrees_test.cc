#include "cli/worktrees.h"

#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/worktree_binding.h"
#include "core/error.h"
#include "testing/temp_dir.h"

namespace harness {
namespace {

namespace fs = std::filesystem;

TEST(WorktreesTest, ParsesGitWorktreeListPorcelain) {
  const auto entries = parse_worktree_list(
      "worktree /r/proj\nHEAD 1111\nbranch refs/heads/main\n\n"
      "worktree /r/proj--a\nHEAD 2222\ndetached\n\n"
      "worktree /r/gone\nHEAD 3333\nbranch refs/heads/x/y\nprunable gitdir file points to "
      "non-existent location\n\n");
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].path, "/r/proj");
  EXPECT_EQ(entries[0].branch, "main");
  EXPECT_EQ(entries[0].head, "1111");
  EXPECT_EQ(entries[1].branch, "");
  EXPECT_EQ(entries[2].branch, "x/y");
  EXPECT_TRUE(entries[2].prunable);
  EXPECT_FALSE(entries[0].prunable);
}

TEST(WorktreesTest, NamesAreBranchAndDirectoryNames) {
  for (const char* good : {"a", "agent-1", "fix_2.x"}) EXPECT_NO_THROW(check_worktree_name(good));
  for (const char* bad : {"", "-x", ".x", "a/b", "a b", "x.lock", "a..b", "a:b"})
    EXPECT_THROW(check_worktree_name(bad), Error) << bad;
  EXPECT_EQ(worktree_path_for("/r/proj", "a"), fs::path("/r/proj--a"));
}

// A directory with a .git directory, as state_dir() finds one.
fs::path fake_checkout(const fs::path& path) {
  fs::create_directories(path / ".git");
  return path;
}

TEST(WorktreeBindingTest, ABoundCheckoutUsesThePlanOfTheWorktreeItIsBoundTo) {
  test_support::TempDir dir("harness-bind");
  const fs::path plan = fake_checkout(dir.path() / "proj");
  const fs::path agent = fake_checkout(dir.path() / "proj--a");
  EXPECT_EQ(plan_worktree_of(agent), agent);
  EXPECT_EQ(bound_to(agent), std::nullopt);
  write_binding(agent, plan);
  EXPECT_EQ(bound_to(agent), plan);
  EXPECT_EQ(plan_worktree_of(agent), plan);
  EXPECT_EQ(binding_file(agent), agent / ".git" / "harness" / "bound-to");
  EXPECT_TRUE(remove_binding(agent));
  EXPECT_FALSE(remove_binding(agent));
  EXPECT_EQ(plan_worktree_of(agent), agent);
}

TEST(WorktreeBindingTest, AGoneTargetOrALoopIsAClearError) {
  test_support::TempDir dir("harness-bind");
  const fs::path a = fake_checkout(dir.path() / "a");
  const fs::path b = fake_checkout(dir.path() / "b");
  write_binding(a, dir.path() / "gone");
  try {
    plan_worktree_of(a);
    ADD_FAILURE() << "a binding to nothing resolved";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kNotFound);
    EXPECT_THAT(e.what(), testing::HasSubstr("harness worktree unbind"));
  }
  write_binding(a, b);
  write_binding(b, a);
  EXPECT_THROW(plan_worktree_of(a), Error);
}

}  // namespace
}  // namespace harness
