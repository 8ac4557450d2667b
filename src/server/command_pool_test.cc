#include "server/command_pool.h"

#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include <gtest/gtest.h>

#include "testing/temp_dir.h"

namespace harness {
namespace {

using namespace std::chrono_literals;

// The result one command got.
struct Outcome {
  std::mutex mutex;
  std::condition_variable done;
  std::optional<CommandResult> result;
  int calls = 0;

  CommandPool::Done callback() {
    return [this](const CommandResult& r) {
      std::lock_guard lock(mutex);
      result = r;
      ++calls;
      done.notify_all();
    };
  }
  CommandResult wait() {
    std::unique_lock lock(mutex);
    EXPECT_TRUE(done.wait_for(lock, 30s, [&] { return result.has_value(); }));
    return result.value_or(CommandResult{});
  }
};

// A command that creates `marker` and then sleeps for 30 s; returns once it has started.
CommandSpec sleeper(const std::filesystem::path& marker) {
  CommandSpec spec;
  spec.args = {"sh", "-c", "touch '" + marker.string() + "'; exec sleep 30"};
  spec.timeout = 60s;
  spec.kill_grace = 1s;
  return spec;
}

void await_file(const std::filesystem::path& marker) {
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!std::filesystem::exists(marker) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);  // polling for a file the command creates
  ASSERT_TRUE(std::filesystem::exists(marker)) << "the command never started";
}

CommandSpec command(std::vector<std::string> args) {
  CommandSpec spec;
  spec.args = std::move(args);
  spec.timeout = 60s;
  spec.kill_grace = 1s;
  return spec;
}

TEST(CommandPool, AnArgumentTheOsCannotTakeBecomesAnErrorResultNotACrash) {
  CommandPool pool;
  Outcome outcome;
  pool.run(command({"printf", std::string("a\0b", 3)}), CommandPool::Lock::kNone,
           outcome.callback());
  const CommandResult r = outcome.wait();
  EXPECT_EQ(r.returncode, 127);
  EXPECT_NE(r.stderr_text.find("NUL"), std::string::npos) << r.stderr_text;
}

TEST(CommandPool, CommandsBeyondTheCapWaitInOrderAndACancelledOneNeverRuns) {
  test_support::TempDir dir("harness-pool");
  CommandPool pool(1);
  std::stop_source first_gone, second_gone;
  Outcome first, second, third;
  const auto marker = dir.path() / "second-ran";
  pool.run(sleeper(dir.path() / "first"), CommandPool::Lock::kNone, first_gone.get_token(),
           first.callback());
  pool.run(command({"touch", marker.string()}), CommandPool::Lock::kRepository,
           second_gone.get_token(), second.callback());
  pool.run(command({"true"}), CommandPool::Lock::kNone, third.callback());
  EXPECT_EQ(pool.counts().running, 1u);
  EXPECT_EQ(pool.counts().queued, 2u);
  EXPECT_EQ(pool.counts().max_running, 1u);

  await_file(dir.path() / "first");
  second_gone.request_stop();  // its client went away while it waited
  EXPECT_EQ(pool.counts().queued, 1u);
  first_gone.request_stop();  // and the running one's: it is killed
  EXPECT_EQ(first.wait().signal_name, "SIGTERM");
  const CommandResult skipped = second.wait();
  EXPECT_EQ(skipped.returncode, 127);
  EXPECT_NE(skipped.stderr_text.find("cancelled"), std::string::npos);
  EXPECT_EQ(third.wait().returncode, 0);
  EXPECT_FALSE(std::filesystem::exists(marker));
}

TEST(CommandPool, ShutdownRefusesQueuedCommandsAndCancelsRunningOnes) {
  test_support::TempDir dir("harness-pool");
  CommandPool pool(1);
  Outcome running, queued;
  pool.run(sleeper(dir.path() / "started"), CommandPool::Lock::kNone, running.callback());
  pool.run(command({"true"}), CommandPool::Lock::kNone, queued.callback());
  await_file(dir.path() / "started");
  pool.shutdown();
  EXPECT_EQ(running.wait().signal_name, "SIGTERM");
  EXPECT_EQ(queued.wait().returncode, 127);
  EXPECT_NE(queued.wait().stderr_text.find("shutting down"), std::string::npos);
  EXPECT_EQ(running.calls + queued.calls, 2);
}

}  // namespace
}  // namespace harness
