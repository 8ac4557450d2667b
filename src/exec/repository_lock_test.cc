#include "exec/repository_lock.h"

#include <fcntl.h>
#include <sys/file.h>

#include <cstdlib>

#include <gtest/gtest.h>

#include "testing/temp_dir.h"

namespace harness {
namespace {

namespace fs = std::filesystem;

void git(const fs::path& dir, const std::string& args) {
  const std::string command = "git -C '" + dir.string() + "' " + args + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
}

// Whether another open file description could take the lock now.
bool lockable(const fs::path& file) {
  const int fd = ::open(file.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  const bool taken = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
  ::close(fd);
  return taken;
}

TEST(RepositoryLockTest, OneLockForEveryWorktreeOfARepository) {
  test_support::TempDir dir("harness-repolock");
  const fs::path main = dir.path() / "main";
  fs::create_directories(main / "sub");
  git(main, "init -q");
  git(main, "-c user.name=t -c user.email=t@t commit -q --allow-empty -m initial");
  git(main, "worktree add -q -b other ../other");
  const fs::path file = repository_lock_file(main / "sub");
  EXPECT_EQ(file, fs::canonical(main / ".git") / "harness-git.lock");
  EXPECT_EQ(repository_lock_file(dir.path() / "other"), file);

  std::optional<RepositoryLock> held = RepositoryLock::acquire(dir.path() / "other");
  ASSERT_TRUE(held);
  EXPECT_EQ(held->file(), file);
  EXPECT_FALSE(lockable(file));  // from the main worktree, or another daemon: it waits
  held.reset();
  EXPECT_TRUE(lockable(file));
}

TEST(RepositoryLockTest, NoLockOutsideARepository) {
  test_support::TempDir dir("harness-repolock");
  EXPECT_TRUE(repository_lock_file(dir.path()).empty());
  EXPECT_FALSE(RepositoryLock::acquire(dir.path()));
}

}  // namespace
}  // namespace harness
