#include "server/group_commit.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
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

// A SqliteStore whose sync() can be held at a gate or made to fail, as a slow or broken disk.
class ControlledSyncStore : public BatchingStore {
 public:
  explicit ControlledSyncStore(BatchingStore& inner) : inner_(inner) {}

  std::optional<Workflow> load() override { return inner_.load(); }
  std::optional<StatusCounts> status_counts() override { return inner_.status_counts(); }
  void replace_workflow(const Workflow& w, ReplaceMode m) override {
    inner_.replace_workflow(w, m);
  }
  ClaimResult claim(const std::string& worker, Micros now, const ClaimFilter& filter,
                    const std::optional<std::string>&) override {
    return inner_.claim(worker, now, filter);
  }
  std::optional<VerificationCommands> complete(const std::string& id, const Holder& holder,
                                               Micros now, const std::optional<std::string>& head,
                                               const CompleteOptions& options) override {
    return inner_.complete(id, holder, now, head, options);
  }
  Micros heartbeat(const std::string& id, const Holder& holder, Micros now) override {
    return inner_.heartbeat(id, holder, now);
  }
  void release(const std::string& id, const Holder& holder) override { inner_.release(id, holder); }
  FailResult fail(const std::string& id, const Holder& holder, const std::string& reason,
                  Micros now) override {
    return inner_.fail(id, holder, reason, now);
  }
  void retry(const std::string& id) override { inner_.retry(id); }
  std::int64_t renew_leases(const std::string& worker, Micros now) override {
    return inner_.renew_leases(worker, now);
  }
  void add_task(const Task& task) override { inner_.add_task(task); }
  void reset() override { inner_.reset(); }
  std::optional<Micros> next_deadline() override { return inner_.next_deadline(); }
  std::optional<CompletionMark> completion_mark(const std::string& worker) override {
    return inner_.completion_mark(worker);
  }
  void begin_batch() override { inner_.begin_batch(); }
  std::exception_ptr run_in_batch(const Mutation& mutation) override {
    return inner_.run_in_batch(mutation);
  }
  std::exception_ptr commit_batch() override { return inner_.commit_batch(); }
  void sync() override {
    std::unique_lock lock(mutex_);
    ++syncs_entered_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return open_; });
    if (fail_) throw Error::io("fdatasync: Input/output error");
    inner_.sync();
  }

  void hold() {
    set([&] { open_ = false; });
  }
  void release() {
    set([&] { open_ = true; });
  }
  void fail() {
    set([&] { fail_ = true; });
  }
  void await_syncs_entered(int n) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return syncs_entered_ >= n; });
  }

 private:
  template <typename F>
  void set(F f) {
    std::lock_guard lock(mutex_);
    f();
    changed_.notify_all();
  }

  BatchingStore& inner_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool open_ = true;
  bool fail_ = false;
  int syncs_entered_ = 0;
};

bool is_ready(std::future<std::exception_ptr>& f) {
  return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
}

TEST_F(GroupCommitTest, TheNextBatchRunsWhileTheLastOneSyncsAndNeitherIsReportedBeforeItsSync) {
  ControlledSyncStore store(*store_);
  store.hold();
  GroupCommitter committer(store);
  std::promise<std::exception_ptr> first_done, second_done;
  std::promise<void> second_ran;
  committer.submit([](Store& s) { s.claim("w1", 1); },
                   [&](std::exception_ptr e) { first_done.set_value(e); });
  store.await_syncs_entered(1);  // the first batch is committed; its sync is held
  committer.submit(
      [&](Store& s) {
        s.claim("w2", 1);
        second_ran.set_value();
      },
      [&](std::exception_ptr e) { second_done.set_value(e); });
  second_ran.get_future().wait();  // the writer went on while the disk was busy
  auto first = first_done.get_future();
  auto second = second_done.get_future();
  EXPECT_FALSE(is_ready(first));
  EXPECT_FALSE(is_ready(second));
  store.release();
  EXPECT_EQ(first.get(), nullptr);
  EXPECT_EQ(second.get(), nullptr);
  committer.stop();
  EXPECT_GE(committer.stats().syncs, 2u);
}

TEST_F(GroupCommitTest, AFailedSyncFailsItsMutationsAndRefusesLaterOnes) {
  ControlledSyncStore store(*store_);
  store.fail();
  GroupCommitter committer(store);
  std::promise<std::exception_ptr> done;
  committer.submit([](Store& s) { s.claim("w", 1); },
                   [&](std::exception_ptr e) { done.set_value(e); });
  const std::exception_ptr error = done.get_future().get();
  ASSERT_NE(error, nullptr);
  try {
    std::rethrow_exception(error);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kIo);
    EXPECT_NE(std::string(e.what()).find("restart the daemon"), std::string::npos) << e.what();
  }
  std::exception_ptr later;
  committer.submit([](Store& s) { s.claim("w", 1); }, [&](std::exception_ptr e) { later = e; });
  EXPECT_EQ(later, error);  // refused at once, without touching the store
}

TEST_F(GroupCommitTest, WhenDurableWaitsForTheSyncOfEarlierCommits) {
  ControlledSyncStore store(*store_);
  GroupCommitter committer(store);
  std::thread::id ran_on;
  committer.when_durable([&](std::exception_ptr) { ran_on = std::this_thread::get_id(); });
  EXPECT_EQ(ran_on, std::this_thread::get_id());  // nothing to wait for: answered at once

  store.hold();
  committer.submit([](Store& s) { s.claim("w", 1); }, [](std::exception_ptr) {});
  store.await_syncs_entered(1);
  std::promise<std::exception_ptr> durable;
  committer.when_durable([&](std::exception_ptr e) { durable.set_value(e); });
  auto read_reply = durable.get_future();
  EXPECT_FALSE(is_ready(read_reply));
  store.release();
  EXPECT_EQ(read_reply.get(), nullptr);
}

TEST_F(GroupCommitTest, RunHereRunsOnTheCallingThreadAndReportsOnlyAfterTheSync) {
  ControlledSyncStore store(*store_);
  store.hold();
  GroupCommitter committer(store);
  std::thread::id ran_on;
  std::promise<std::exception_ptr> done;
  committer.run_here(
      [&](Store& s) {
        ran_on = std::this_thread::get_id();
        s.claim("w", 1);
      },
      [&](std::exception_ptr e) { done.set_value(e); });
  EXPECT_EQ(ran_on, std::this_thread::get_id());
  store.await_syncs_entered(1);  // committed on this thread, for the syncer was free
  auto reply = done.get_future();
  EXPECT_FALSE(is_ready(reply));
  store.release();
  EXPECT_EQ(reply.get(), nullptr);
  EXPECT_EQ(store_->load()->tasks[0].claimed_by, "w");
}

TEST_F(GroupCommitTest, RunHereQueuesBehindTheWriterInsteadOfWaitingForIt) {
  GroupCommitter committer(*store_);
  std::promise<void> import_started, let_import_finish;
  std::shared_future<void> gate = let_import_finish.get_future().share();
  committer.submit(
      [&, gate](Store& s) {
        import_started.set_value();
        gate.wait();  // a long mutation holding the writer, and so the store
        s.claim("importer", 1);
      },
      [](std::exception_ptr) {});
  import_started.get_future().wait();
  std::promise<std::thread::id> claim_ran_on;
  std::promise<std::exception_ptr> claim_done;
  auto returned = std::async(std::launch::async, [&] {
    committer.run_here(
        [&](Store& s) {
          claim_ran_on.set_value(std::this_thread::get_id());
          s.claim("w", 1);
        },
        [&](std::exception_ptr e) { claim_done.set_value(e); });
    return std::this_thread::get_id();
  });
  const bool returned_at_once =
      returned.wait_for(std::chrono::seconds(30)) == std::future_status::ready;
  let_import_finish.set_value();
  ASSERT_TRUE(returned_at_once) << "run_here waited for the writer's long mutation";
  EXPECT_EQ(claim_done.get_future().get(), nullptr);
  EXPECT_NE(claim_ran_on.get_future().get(), returned.get());  // it ran on the writer thread
}

TEST_F(GroupCommitTest, WhatRunHereAddsDuringASyncIsCommittedByTheSyncerAfterIt) {
  ControlledSyncStore store(*store_);
  store.hold();
  GroupCommitter committer(store);
  SqliteStore observer(dir_.path() / "state.db", SqliteStore::Access::kReadOnly);
  const auto claimed_by = [&](const std::string& worker) {
    int n = 0;
    const std::optional<Workflow> workflow = observer.load();
    for (const Task& t : workflow->tasks) n += t.claimed_by == worker;
    return n;
  };
  std::promise<std::exception_ptr> first_done, second_done;
  committer.run_here([](Store& s) { s.claim("w1", 1); },
                     [&](std::exception_ptr e) { first_done.set_value(e); });
  store.await_syncs_entered(1);
  committer.run_here([](Store& s) { s.claim("w2", 1); },
                     [&](std::exception_ptr e) { second_done.set_value(e); });
  EXPECT_EQ(claimed_by("w1"), 1);
  EXPECT_EQ(claimed_by("w2"), 0);  // left open while the disk is busy
  EXPECT_EQ(committer.stats().batches, 1u);
  store.release();
  EXPECT_EQ(first_done.get_future().get(), nullptr);
  auto second = second_done.get_future();  // committed and synced with no further caller:
  ASSERT_EQ(second.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_EQ(second.get(), nullptr);
  EXPECT_EQ(claimed_by("w2"), 1);
  EXPECT_EQ(committer.stats().batches, 2u);
}

TEST_F(GroupCommitTest, ManyThreadsRunningHereAndSubmittingClaimEachTaskOnce) {
  GroupCommitter committer(*store_);
  constexpr int kThreads = 4, kEach = 25;  // 100 claims for the 100 tasks
  std::mutex mutex;
  std::multiset<std::string> claimed;
  std::vector<std::thread> threads;
  std::atomic<int> reported{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto id = std::make_shared<std::string>();
        // A worker's claim again returns its running task: one worker per claim.
        GroupCommitter::Mutation claim = [id, worker = std::to_string(t * kEach + i)](Store& s) {
          *id = s.claim(worker, 1).task->id;
        };
        GroupCommitter::Done done = [&, id](std::exception_ptr e) {
          std::lock_guard lock(mutex);
          claimed.insert(e ? "error" : *id);
          ++reported;
        };
        if (t == 0)
          committer.submit(std::move(claim), std::move(done));
        else
          committer.run_here(std::move(claim), std::move(done));
      }
    });
  }
  for (std::thread& t : threads) t.join();
  committer.stop();
  EXPECT_EQ(reported.load(), kThreads * kEach);
  EXPECT_EQ(claimed.count("error"), 0u);
  EXPECT_EQ(std::set<std::string>(claimed.begin(), claimed.end()).size(), 100u);
  EXPECT_EQ(committer.stats().mutations, 100u);
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
