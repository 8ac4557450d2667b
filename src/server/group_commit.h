// Group commit (DESIGN §4), pipelined. Mutations from many clients run as they come into one
// open transaction (store/batching_store.h). A second thread, the syncer, makes committed
// transactions durable (Store::sync) and only then reports each mutation's outcome. A
// transaction commits whenever the syncer is free, so while the disk is busy with one fsync the
// next transaction executes and grows, one commit and one fsync carry everything that arrived
// meanwhile, and each reply still follows its own durable commit.
//
// A short mutation (one claim or complete) runs on the thread that brings it (run_here): handing
// it to another thread cost a wake-up per request, the largest cost left on the hot path. A
// long one (an import) goes to the writer thread (submit), so that its caller, the daemon's I/O
// thread, stays free to serve reads and pings meanwhile; short mutations that arrive while the
// writer holds the store queue behind it.
//
// A failed sync is treated as the loss of durability it is: the mutations it covered and
// every mutation after it report the failure (their changes may be visible, but a crash can
// take them back), until the daemon is restarted — or, for a store whose sync failures are not
// permanent (a database server, BatchingStore::sync_failure_is_permanent), only the mutations
// it covered.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "store/batching_store.h"

namespace harness {

class GroupCommitter {
 public:
  // Runs inside the batch's transaction, on the thread that holds the store. Makes one Store
  // call, a write, as its last step (BatchingStore): a mutation that fails leaves nothing.
  using Mutation = BatchingStore::Mutation;
  // Runs on the syncer thread once the change is durable (error == nullptr), or after the
  // mutation, its transaction or the sync failed; a refused mutation's runs on the caller's
  // thread. Must not block, for the next sync waits for it: the daemon writes its reply here
  // with a send that does not wait.
  using Done = std::function<void(std::exception_ptr error)>;

  struct Stats {
    std::uint64_t batches = 0;  // commits
    std::uint64_t mutations = 0;
    std::uint64_t syncs = 0;
  };

  // `store` must outlive this object and is used only through it from now on. A transaction
  // takes at most `max_batch` mutations.
  GroupCommitter(BatchingStore& store, std::size_t max_batch = 512);
  ~GroupCommitter();  // stop()

  // Queues `mutation` for the writer thread; returns at once.
  void submit(Mutation mutation, Done done);
  // Runs `mutation` on the calling thread, and commits its transaction if the syncer is free;
  // waits meanwhile for another short holder of the store (a commit, another run_here). When the
  // writer holds the store or has mutations queued, queues `mutation` behind them as submit().
  void run_here(Mutation mutation, Done done);
  // Calls `then` once every batch committed before this call is durable: at once on the
  // caller's thread when nothing is waiting for a sync, else on the syncer thread. A read
  // replies through it, so that no reply shows a change that a crash could still take back.
  void when_durable(Done then);
  // Commits and syncs what is queued or open, then stops both threads. Later mutations fail at
  // once. Must not run concurrently with run_here.
  void stop();
  Stats stats() const;

 private:
  struct Pending {
    Mutation mutation;
    Done done;
  };
  struct Outcome {
    Done done;
    std::exception_ptr error;
  };

  // The error a mutation offered now gets without running, or nullptr. Called with mutex_ held.
  std::exception_ptr refusal() const;
  void writer_loop();
  // Runs `taken` in the open transaction, opening one if none is; returns their outcomes. When
  // no transaction can be opened, their failures go straight to unsynced_. Called holding the
  // store, without mutex_.
  std::vector<Outcome> execute(std::span<Pending> taken);
  // Adds `ran` to the open transaction, commits it if the syncer is free, and gives up the
  // store, waking whoever waits for it. Called holding the store, with `lock` held.
  void release_store(std::vector<Outcome> ran, std::unique_lock<std::mutex>& lock);
  // Commits the open transaction and hands its outcomes to the syncer. Called holding the
  // store, with `lock` held (released during the commit).
  void commit(std::unique_lock<std::mutex>& lock);
  void syncer_loop();
  // Syncs, then reports; `committed` transactions are durable after it.
  void sync_and_report(std::vector<Outcome>& outcomes, std::uint64_t committed);

  BatchingStore& store_;
  const std::size_t max_batch_;
  mutable std::mutex mutex_;
  std::condition_variable writer_wake_;
  std::condition_variable syncer_wake_;
  std::condition_variable store_freed_;  // for run_here callers waiting for a short holder
  std::deque<Pending> queue_;            // for the writer
  // One thread at a time holds the store: it alone begins, runs in and commits transactions.
  bool store_held_ = false;
  bool writer_holds_store_ = false;  // the holder may keep it long: run_here queues instead
  // Touched only by the store's holder; mutex_ orders one holder after the next.
  bool in_transaction_ = false;
  std::vector<Outcome> open_;      // ran in the open transaction, not yet committed
  std::vector<Outcome> unsynced_;  // committed, waiting for the next sync
  bool syncing_ = false;           // a sync is under way: the open transaction stays open
  // Commits begun (counted before a commit can become visible), finished and synced.
  std::uint64_t commits_begun_ = 0;
  std::uint64_t committed_ = 0;
  std::uint64_t synced_ = 0;
  std::exception_ptr sync_failure_;   // set by the first failed permanent sync, for good
  bool sync_failure_logged_ = false;  // touched by the syncer thread only
  bool stopping_ = false;
  bool writer_stopped_ = false;
  Stats stats_;
  std::thread writer_;
  std::thread syncer_;
};

}  // namespace harness
