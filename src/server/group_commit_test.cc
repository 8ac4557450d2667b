#include "server/group_commit.h"

#include <fcntl.h>
#include <unistd.h>

#include <future>
#include <set>

#include <gtest/gtest.h>

#include "testing/temp_dir.h"

#include "core/error.h"
#include "store/sqlite_store.h"

namespace harness {
namespace {

class GroupCommitTest : public ::testing::Test {
 protected:
  GroupCommitTest() {
    store_ =
        std::make_unique<SqliteStore>(dir_.path() / "state.db", SqliteStore::Access::kReadWrite);
    Workflow w;
    for (int i = 0; i < 100; ++i) w.tasks.push_back(Task{.id = "t" + std::to_string(i)});
    store_->replace_workflow(w, ReplaceMode::kAlways);
  }
  test_support::TempDir dir_{"harness-gc"};
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(GroupCommitTest, QueuedMutationsShareOneBatchAndEachGetsItsOutcome) {
  GroupCommitter committer(*store_);
  std::promise<void> all_submitted;
  std::shared_future<void> gate = all_submitted.get_future().share();
  std::vector<std::promise<std::string>> claimed(100);
  for (int i = 0; i < 100; ++i) {
    auto task_id = std::make_shared<std::string>();
    committer.submit(
        [i, task_id, gate](Store& s) {
          if (i == 0) gate.wait();  // hold the writer in batch one until the rest have queued
          *task_id = s.claim("w" + std::to_string(i), 1).task->id;
        },
        [&, i, task_id](std::exception_ptr error) {
          claimed[i].set_value(error ? "error" : *task_id);
        });
  }
  all_submitted.set_value();
  std::set<std::string> ids;
  for (auto& p : claimed) ids.insert(p.get_future().get());
  EXPECT_EQ(ids.size(), 100u);
  EXPECT_EQ(ids.count("error"), 0u);
  const auto stats = committer.stats();
  EXPECT_EQ(stats.mutations, 100u);
  EXPECT_LE(stats.batches, 2u);  // at most: the first alone, then everything queued behind it
}

TEST_F(GroupCommitTest, AFailingMutationDoesNotUndoItsBatchNeighbours) {
  GroupCommitter committer(*store_);
  std::promise<std::exception_ptr> bad, good;
  committer.submit([](Store& s) { s.complete("ghost", "w", 1, std::nullopt); },
                   [&](std::exception_ptr e) { bad.set_value(e); });
  committer.submit([](Store& s) { s.claim("w", 1); },
                   [&](std::exception_ptr e) { good.set_value(e); });
  EXPECT_NE(bad.get_future().get(), nullptr);
  EXPECT_EQ(good.get_future().get(), nullptr);
  committer.stop();
  EXPECT_EQ(store_->load()->tasks[0].claimed_by, "w");
}

TEST_F(GroupCommitTest, OutcomeIsReportedOnlyAfterCommit) {
  GroupCommitter committer(*store_);
  SqliteStore observer(dir_.path() / "state.db", SqliteStore::Access::kReadOnly);
  std::promise<std::optional<std::string>> seen;
  committer.submit(
      [](Store& s) { s.claim("w", 1); },
      [&](std::exception_ptr) { seen.set_value(observer.load()->tasks[0].claimed_by); });
  EXPECT_EQ(seen.get_future().get(), "w");  // another connection already sees the change
}

TEST_F(GroupCommitTest, SubmitAfterStopFailsAtOnce) {
  GroupCommitter committer(*store_);
  committer.stop();
  std::exception_ptr error;
  committer.submit([](Store&) {}, [&](std::exception_ptr e) { error = e; });
  ASSERT_NE(error, nullptr);
  EXPECT_THROW(std::rethrow_exception(error), Error);
}

}  // namespace
}  // namespace harness
