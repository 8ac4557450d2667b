// Group commit (DESIGN §4), pipelined. Mutations from many clients queue for one writer
// thread, which runs them as they come into one open transaction (Store::run_in_batch). Syncer
// threads make committed transactions durable (Store::sync) and only then report each
// mutation's outcome. The writer commits whenever a syncer is free, so transactions grow while
// the disk is busy: one commit and one fsync carry everything that arrived meanwhile, and each
// reply still follows its own durable commit. With several syncers, syncs may overlap.
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
  // Runs on the writer thread inside the batch's transaction.
  using Mutation = std::function<void(Store&)>;
  // Runs on the syncer thread once the change is durable (error == nullptr), or after the
  // mutation, its transaction or the sync failed. Must not block: it hands the reply on.
  using Done = std::function<void(std::exception_ptr error)>;

  struct Stats {
    std::uint64_t batches = 0;  // commits
    std::uint64_t mutations = 0;
    std::uint64_t syncs = 0;
  };

  // `store` must outlive this object and is used only by its threads from now on. A
  // transaction takes at most `max_batch` mutations; `syncers` threads sync, so that one
  // transaction's sync may start while an earlier one's is still under way.
  GroupCommitter(Store& store, std::size_t max_batch = 512, std::size_t syncers = 2);
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
  // Syncs and frees the writer to commit; `committed` transactions are durable after it.
  // Returns the sync failure outcomes report from now on, or nullptr.
  std::exception_ptr sync(std::uint64_t committed);

  Store& store_;
  const std::size_t max_batch_;
  mutable std::mutex mutex_;
  std::condition_variable writer_wake_;
  std::condition_variable syncer_wake_;
  std::deque<Pending> queue_;
  std::vector<Outcome> unsynced_;  // committed, waiting for the next sync
  // Commits begun (counted before a commit can become visible), finished, taken by a syncer
  // and synced.
  std::uint64_t commits_begun_ = 0;
  std::uint64_t committed_ = 0;
  std::uint64_t sync_taken_ = 0;
  std::size_t syncing_ = 0;  // syncers at work
  std::uint64_t synced_ = 0;
  std::exception_ptr sync_failure_;  // set by the first failed sync, for good
  bool stopping_ = false;
  bool writer_stopped_ = false;
  Stats stats_;
  std::thread writer_;
  std::vector<std::thread> syncers_;
};

}  // namespace harness
