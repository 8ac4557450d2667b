#include "server/group_commit.h"

#include <string>

#include "core/error.h"

namespace harness {

GroupCommitter::GroupCommitter(Store& store, std::size_t max_batch)
    : store_(store),
      max_batch_(max_batch),
      writer_([this] { writer_loop(); }),
      syncer_([this] { syncer_loop(); }) {}

GroupCommitter::~GroupCommitter() { stop(); }

// Each wake-up below comes after the mutex is released: a thread woken while the waker still
// holds it would only block again on the mutex, two more futex calls and a context switch.
void GroupCommitter::submit(Mutation mutation, Done done) {
  std::exception_ptr refusal;
  {
    std::lock_guard lock(mutex_);
    if (stopping_)
      refusal = std::make_exception_ptr(Error::conflict("the daemon is shutting down"));
    else if (sync_failure_)
      refusal = sync_failure_;
    else
      queue_.push_back(Pending{std::move(mutation), std::move(done)});
  }
  if (!refusal) return writer_wake_.notify_one();
  done(refusal);
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
    writer_wake_.notify_one();
  }
  if (writer_.joinable()) writer_.join();
  {
    std::lock_guard lock(mutex_);
    writer_stopped_ = true;
    syncer_wake_.notify_one();
  }
  if (syncer_.joinable()) syncer_.join();
}

GroupCommitter::Stats GroupCommitter::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void GroupCommitter::writer_loop() {
  std::deque<Pending> taken;
  std::vector<Outcome> open;  // run in the open transaction, not yet committed
  std::unique_lock lock(mutex_);
  const auto can_take = [&] { return !queue_.empty() && open.size() < max_batch_; };
  const auto can_commit = [&] { return !open.empty() && !syncing_; };
  for (;;) {
    writer_wake_.wait(lock, [&] {
      return can_take() || can_commit() || (stopping_ && queue_.empty() && open.empty());
    });
    if (can_take()) {
      const std::size_t n = std::min(queue_.size(), max_batch_ - open.size());
      std::move(queue_.begin(), queue_.begin() + n, std::back_inserter(taken));
      queue_.erase(queue_.begin(), queue_.begin() + n);
      stats_.mutations += n;
      lock.unlock();
      execute(taken, open);
      taken.clear();
      lock.lock();
    }
    // Commit after each take when the syncer is free, so a steady stream of mutations never
    // keeps a transaction open while the disk idles.
    if (can_commit())
      commit(open, lock);
    else if (stopping_ && queue_.empty() && open.empty())
      return;  // everything queued has been committed
  }
}

void GroupCommitter::execute(std::deque<Pending>& taken, std::vector<Outcome>& open) {
  if (open.empty()) {
    try {
      store_.begin_batch();
    } catch (...) {
      // Locked first, so that this thread's copy of the error dies before the syncer can take it.
      std::lock_guard lock(mutex_);
      const std::exception_ptr error = std::current_exception();
      for (Pending& p : taken) unsynced_.push_back(Outcome{std::move(p.done), error});
      syncer_wake_.notify_one();
      return;
    }
  }
  for (Pending& p : taken) {
    std::exception_ptr error = store_.run_store_call_in_batch([&] { p.mutation(store_); });
    open.push_back(Outcome{std::move(p.done), std::move(error)});
  }
}

void GroupCommitter::commit(std::vector<Outcome>& open, std::unique_lock<std::mutex>& lock) {
  ++commits_begun_;
  lock.unlock();
  const std::exception_ptr failure = store_.commit_batch();
  lock.lock();
  for (Outcome& o : open) {
    if (failure) o.error = failure;
    unsynced_.push_back(std::move(o));
  }
  open.clear();
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
    lock.unlock();
    writer_wake_.notify_one();  // its open transaction may commit now
    lock.lock();
  }
}

// One sync covers every outcome taken: each was committed (or, for when_durable, its read
// done) before the sync starts, and an fdatasync covers every write that preceded it.
void GroupCommitter::sync_and_report(std::vector<Outcome>& outcomes, std::uint64_t committed) {
  std::exception_ptr failure;
  try {
    store_.sync();
  } catch (const std::exception& e) {
    failure = std::make_exception_ptr(Error::io(
        std::string(e.what()) +
        "; changes are refused from now on: restart the daemon once the storage is healthy"));
  }
  {
    std::lock_guard lock(mutex_);
    if (failure && !sync_failure_) sync_failure_ = failure;
    failure = sync_failure_;
    synced_ = committed;
    ++stats_.syncs;
  }
  for (Outcome& o : outcomes) o.done(failure ? failure : o.error);
}

}  // namespace harness
