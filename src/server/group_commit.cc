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

void GroupCommitter::submit(Mutation mutation, Done done) {
  std::exception_ptr refusal;
  {
    std::lock_guard lock(mutex_);
    if (stopping_)
      refusal = std::make_exception_ptr(Error::conflict("the daemon is shutting down"));
    else if (sync_failure_)
      refusal = sync_failure_;
    else {
      queue_.push_back(Pending{std::move(mutation), std::move(done)});
      writer_wake_.notify_one();
      return;
    }
  }
  done(refusal);
}

void GroupCommitter::when_durable(Done then) {
  {
    std::lock_guard lock(mutex_);
    if (synced_ != begun_) {
      unsynced_.push_back(Outcome{std::move(then), nullptr});
      syncer_wake_.notify_one();
      return;
    }
  }
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
  std::deque<Pending> batch;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      writer_wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything queued has been committed
      const std::size_t n = std::min(queue_.size(), max_batch_);
      std::move(queue_.begin(), queue_.begin() + n, std::back_inserter(batch));
      queue_.erase(queue_.begin(), queue_.begin() + n);
      ++begun_;
      ++stats_.batches;
      stats_.mutations += n;
    }
    execute(batch);
    batch.clear();
  }
}

void GroupCommitter::execute(std::deque<Pending>& batch) {
  std::vector<std::function<void()>> ops;
  ops.reserve(batch.size());
  for (Pending& p : batch) ops.emplace_back([this, &p] { p.mutation(store_); });
  const std::vector<std::exception_ptr> errors = store_.run_batch(ops);
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < batch.size(); ++i)
    unsynced_.push_back(Outcome{std::move(batch[i].done), errors[i]});
  ++committed_;
  syncer_wake_.notify_one();
}

void GroupCommitter::syncer_loop() {
  std::vector<Outcome> outcomes;
  for (;;) {
    std::uint64_t committed;
    {
      std::unique_lock lock(mutex_);
      syncer_wake_.wait(lock, [&] { return writer_stopped_ || !unsynced_.empty(); });
      if (unsynced_.empty()) return;  // the writer has stopped and everything is synced
      outcomes.swap(unsynced_);
      committed = committed_;
    }
    sync_and_report(outcomes, committed);
    outcomes.clear();
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
