// Group commit (DESIGN §4), pipelined. Mutations from many clients queue for one writer
// thread, which runs them as they come into one open transaction (Store::run_in_batch). A
// second thread, the syncer, makes committed transactions durable (Store::sync) and only then
// reports each mutation's outcome. The writer commits whenever the syncer is free, so while
// the disk is busy with one fsync the next transaction executes and grows, one commit and one
// fsync carry everything that arrived meanwhile, and each reply still follows its own durable
// commit.
//
// A failed sync is treated as the loss of durability it is: the mutations it covered and
// every mutation after it report the failure (their changes may be visible, but a crash can
// take them back), until the daemon is restarted.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "store/store.h"

namespace harness {

class GroupCommitter {
 public:
  // Runs on the writer thread inside the batch's transaction. Makes one Store call, a write,
  // as its last step (Store::run_store_call_in_batch): a mutation that fails leaves nothing.
  using Mutation = std::function<void(Store&)>;
  // Runs on the syncer thread once the change is durable (error == nullptr), or after the
  // mutation, its transaction or the sync failed. Must not block, for the next sync waits for it:
  // the daemon writes its reply here with a send that does not wait.
  using Done = std::function<void(std::exception_ptr error)>;

  struct Stats {
    std::uint64_t batches = 0;  // commits
    std::uint64_t mutations = 0;
    std::uint64_t syncs = 0;
  };

  // `store` must outlive this object and is used only by its two threads from now on. A
  // transaction takes at most `max_batch` mutations.
  GroupCommitter(Store& store, std::size_t max_batch = 512);
  ~GroupCommitter();  // stop()

  void submit(Mutation mutation, Done done);
  // Calls `then` once every batch committed before this call is durable: at once on the
  // caller's thread when nothing is waiting for a sync, else on the syncer thread. A read
  // replies through it, so that no reply shows a change that a crash could still take back.
  void when_durable(Done then);
  // Commits and syncs what is queued, then stops both threads. Later submits fail at once.
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

  void writer_loop();
  // Runs `taken` in the open transaction, opening one if `open` is empty; each outcome is
  // appended to `open`, or straight to unsynced_ when no transaction could be opened.
  void execute(std::deque<Pending>& taken, std::vector<Outcome>& open);
  // Commits the open transaction and hands its outcomes to the syncer. Called with `lock` held.
  void commit(std::vector<Outcome>& open, std::unique_lock<std::mutex>& lock);
  void syncer_loop();
  // Syncs, then reports; `committed` transactions are durable after it.
  void sync_and_report(std::vector<Outcome>& outcomes, std::uint64_t committed);

  Store& store_;
  const std::size_t max_batch_;
  mutable std::mutex mutex_;
  std::condition_variable writer_wake_;
  std::condition_variable syncer_wake_;
  std::deque<Pending> queue_;
  std::vector<Outcome> unsynced_;  // committed, waiting for the next sync
  bool syncing_ = false;           // a sync is under way: the writer keeps its transaction open
  // Commits begun (counted before a commit can become visible), finished and synced.
  std::uint64_t commits_begun_ = 0;
  std::uint64_t committed_ = 0;
  std::uint64_t synced_ = 0;
  std::exception_ptr sync_failure_;  // set by the first failed sync, for good
  bool stopping_ = false;
  bool writer_stopped_ = false;
  Stats stats_;
  std::thread writer_;
  std::thread syncer_;
};

}  // namespace harness
