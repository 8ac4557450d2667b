#include "server/group_commit.h"

#include "core/error.h"

namespace harness {

GroupCommitter::GroupCommitter(Store& store, std::size_t max_batch)
    : store_(store), max_batch_(max_batch), writer_([this] { writer_loop(); }) {}

GroupCommitter::~GroupCommitter() { stop(); }

void GroupCommitter::submit(Mutation mutation, Done done) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      queue_.push_back(Pending{std::move(mutation), std::move(done)});
      wake_.notify_one();
      return;
    }
  }
  done(std::make_exception_ptr(Error::conflict("the daemon is shutting down")));
}

void GroupCommitter::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    wake_.notify_one();
  }
  if (writer_.joinable()) writer_.join();
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
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything queued has been committed
      const std::size_t n = std::min(queue_.size(), max_batch_);
      std::move(queue_.begin(), queue_.begin() + n, std::back_inserter(batch));
      queue_.erase(queue_.begin(), queue_.begin() + n);
      ++stats_.batches;
      stats_.mutations += n;
    }
    commit(batch);
    batch.clear();
  }
}

void GroupCommitter::commit(std::deque<Pending>& batch) {
  std::vector<std::function<void()>> ops;
  ops.reserve(batch.size());
  for (Pending& p : batch) ops.emplace_back([this, &p] { p.mutation(store_); });
  const std::vector<std::exception_ptr> errors = store_.run_batch(ops);
  for (std::size_t i = 0; i < batch.size(); ++i) batch[i].done(errors[i]);
}

}  // namespace harness
