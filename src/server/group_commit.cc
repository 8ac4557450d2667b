#include "server/group_commit.h"

#include <iterator>
#include <string>
#include <utility>

#include "core/error.h"
#include "core/logger.h"

namespace harness {

GroupCommitter::GroupCommitter(BatchingStore& store, std::size_t max_batch)
    : store_(store),
      max_batch_(max_batch),
      writer_([this] { writer_loop(); }),
      syncer_([this] { syncer_loop(); }) {}

GroupCommitter::~GroupCommitter() { stop(); }

std::exception_ptr GroupCommitter::refusal() const {
  if (stopping_) return std::make_exception_ptr(Error::conflict("the daemon is shutting down"));
  return sync_failure_;
}

// Each wake-up below comes after the mutex is released: a thread woken while the waker still
// holds it would only block again on the mutex, two more futex calls and a context switch.
void GroupCommitter::submit(Mutation mutation, Done done) {
  std::exception_ptr refused;
  {
    std::lock_guard lock(mutex_);
    refused = refusal();
    if (!refused) queue_.push_back(Pending{std::move(mutation), std::move(done)});
  }
  if (!refused) return writer_wake_.notify_one();
  done(refused);
}

void GroupCommitter::run_here(Mutation mutation, Done done) {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (std::exception_ptr refused = refusal()) {
      lock.unlock();
      return done(refused);
    }
    if (writer_holds_store_ || !queue_.empty() || open_.size() >= max_batch_) {
      lock.unlock();
      return submit(std::move(mutation), std::move(done));
    }
    if (!store_held_) break;
    store_freed_.wait(lock);
  }
  store_held_ = true;
  ++stats_.mutations;
  lock.unlock();
  Pending one{std::move(mutation), std::move(done)};
  std::vector<Outcome> ran = execute(std::span(&one, 1));
  lock.lock();
  release_store(std::move(ran), lock);
}

void GroupCommitter::when_durable(Done then) {
  bool queued;
  {
    std::lock_guard lock(mutex_);
    queued = synced_ != commits_begun_;
    if (queued) unsynced_.push_back(Outcome{std::move(then), nullptr});
  }
  if (queued) return syncer_wake_.notify_one();
  then(nullptr);
}

void GroupCommitter::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  writer_wake_.notify_one();
  if (writer_.joinable()) writer_.join();
  {
    std::lock_guard lock(mutex_);
    writer_stopped_ = true;
  }
  syncer_wake_.notify_one();
  if (syncer_.joinable()) syncer_.join();
}

GroupCommitter::Stats GroupCommitter::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void GroupCommitter::writer_loop() {
  std::vector<Pending> taken;
  std::unique_lock lock(mutex_);
  const auto can_take = [&] {
    return !queue_.empty() && !store_held_ && open_.size() < max_batch_;
  };
  for (;;) {
    writer_wake_.wait(lock,
                      [&] { return can_take() || (stopping_ && queue_.empty() && !store_held_); });
    if (queue_.empty()) return;  // stopping: what is open, the syncer commits after its sync
    const std::size_t n = std::min(queue_.size(), max_batch_ - open_.size());
    std::move(queue_.begin(), queue_.begin() + n, std::back_inserter(taken));
    queue_.erase(queue_.begin(), queue_.begin() + n);
    stats_.mutations += n;
    store_held_ = writer_holds_store_ = true;
    lock.unlock();
    std::vector<Outcome> ran = execute(taken);
    taken.clear();
    lock.lock();
    release_store(std::move(ran), lock);
  }
}

std::vector<GroupCommitter::Outcome> GroupCommitter::execute(std::span<Pending> taken) {
  std::vector<Outcome> ran;
  if (!in_transaction_) {
    try {
      store_.begin_batch();
      in_transaction_ = true;
    } catch (...) {
      // Locked first, so that this thread's copy of the error dies before the syncer can take it.
      std::lock_guard lock(mutex_);
      const std::exception_ptr error = std::current_exception();
      for (Pending& p : taken) unsynced_.push_back(Outcome{std::move(p.done), error});
      syncer_wake_.notify_one();
      return ran;
    }
  }
  ran.reserve(taken.size());
  for (Pending& p : taken) {
    std::exception_ptr error = store_.run_in_batch(p.mutation);
    ran.push_back(Outcome{std::move(p.done), std::move(error)});
  }
  return ran;
}

void GroupCommitter::release_store(std::vector<Outcome> ran, std::unique_lock<std::mutex>& lock) {
  std::move(ran.begin(), ran.end(), std::back_inserter(open_));
  // Commit whenever the syncer is free, so a steady stream of mutations never keeps a
  // transaction open while the disk idles; while it syncs, the transaction stays open and grows,
  // and the syncer commits it when it is done.
  if (!open_.empty() && !syncing_) commit(lock);
  store_held_ = writer_holds_store_ = false;
  const bool wake_writer = !queue_.empty() || stopping_;
  lock.unlock();
  store_freed_.notify_all();
  if (wake_writer) writer_wake_.notify_one();
  lock.lock();
}

void GroupCommitter::commit(std::unique_lock<std::mutex>& lock) {
  ++commits_begun_;
  std::vector<Outcome> batch;
  batch.swap(open_);
  lock.unlock();
  const std::exception_ptr failure = store_.commit_batch();
  in_transaction_ = false;  // committed, or rolled back by a failed commit
  lock.lock();
  for (Outcome& o : batch) {
    if (failure) o.error = failure;
    unsynced_.push_back(std::move(o));
  }
  ++committed_;
  ++stats_.batches;
  lock.unlock();
  syncer_wake_.notify_one();
  lock.lock();
}

void GroupCommitter::syncer_loop() {
  std::vector<Outcome> outcomes;
  std::unique_lock lock(mutex_);
  for (;;) {
    syncer_wake_.wait(lock, [&] { return writer_stopped_ || !unsynced_.empty(); });
    if (unsynced_.empty()) return;  // the writer has stopped and everything is synced
    outcomes.swap(unsynced_);
    const std::uint64_t committed = committed_;
    syncing_ = true;
    lock.unlock();
    sync_and_report(outcomes, committed);
    outcomes.clear();
    lock.lock();
    syncing_ = false;
    // A transaction left open for this sync: commit it here, which spares waking another thread
    // for it. If the store is held, its holder commits on release, for the syncer is free now.
    if (!open_.empty() && !store_held_) {
      store_held_ = true;
      release_store({}, lock);
    }
  }
}

// One sync covers every outcome taken: each was committed (or, for when_durable, its read
// done) before the sync starts, and an fdatasync covers every write that preceded it.
void GroupCommitter::sync_and_report(std::vector<Outcome>& outcomes, std::uint64_t committed) {
  std::exception_ptr failure;
  const bool permanent = store_.sync_failure_is_permanent();
  try {
    store_.sync();
  } catch (const std::exception& e) {
    const std::string message =
        std::string(e.what()) +
        (permanent ? "; changes are refused from now on: restart the daemon once the storage is "
                     "healthy"
                   : "; not acknowledged: the change may or may not have been kept");
    failure = std::make_exception_ptr(Error::io(message));
    // Said in the daemon's log too: the clients' error replies may go unread.
    if (!permanent || !std::exchange(sync_failure_logged_, true)) log_error(message);
  }
  {
    std::lock_guard lock(mutex_);
    if (failure && permanent && !sync_failure_) sync_failure_ = failure;
    if (sync_failure_) failure = sync_failure_;
    synced_ = committed;
    ++stats_.syncs;
  }
  for (Outcome& o : outcomes) o.done(failure ? failure : o.error);
}

}  // namespace harness
