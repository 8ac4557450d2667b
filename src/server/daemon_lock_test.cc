#include "server/daemon_lock.h"

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace harness {
namespace {

TEST(HolderAlive, ALiveProcessIsAlive) {
  DaemonInfo info;
  info.pid = ::getpid();
  EXPECT_TRUE(holder_alive(info));
}

TEST(HolderAlive, AZombieIsNotAlive) {
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) ::_exit(0);
  // Until it is reaped the child is a zombie: wait for that state without reaping it.
  siginfo_t info{};
  ASSERT_EQ(::waitid(P_PID, child, &info, WEXITED | WNOWAIT), 0);
  DaemonInfo holder;
  holder.pid = child;
  EXPECT_FALSE(holder_alive(holder));
  ::waitpid(child, nullptr, 0);
  EXPECT_FALSE(holder_alive(holder));
}

TEST(HolderAlive, NoPidIsNotAlive) {
  DaemonInfo info;
  info.pid = 0;
  EXPECT_FALSE(holder_alive(info));
}

}  // namespace
}  // namespace harness
