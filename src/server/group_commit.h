// Group commit (DESIGN §4): mutations from many clients are queued to one writer thread,
// which runs whatever has accumulated as one Store::run_batch — one transaction, one fsync —
// and only then reports each mutation's outcome. While a batch commits, new mutations queue
// up for the next one, so batches grow with load and each reply still follows its own
// durable commit.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

#include "store/store.h"

namespace harness {

class GroupCommitter {
 public:
  // Runs on the writer thread inside the batch's transaction.
  using Mutation = std::function<void(Store&)>;
  // Runs on the writer thread after the batch committed (error == nullptr) or after the
  // mutation or the commit failed. Must not block: it hands the reply to the I/O thread.
  using Done = std::function<void(std::exception_ptr error)>;

  struct Stats {
    std::uint64_t batches = 0;
    std::uint64_t mutations = 0;
  };

  // `store` must outlive this object and is used only by the writer thread from now on.
  GroupCommitter(Store& store, std::size_t max_batch = 512);
  ~GroupCommitter();  // stop()

  void submit(Mutation mutation, Done done);
  // Commits what is queued, then stops the writer thread. Later submits fail at once.
  void stop();
  Stats stats() const;

 private:
  struct Pending {
    Mutation mutation;
    Done done;
  };

  void writer_loop();
  void commit(std::deque<Pending>& batch);

  Store& store_;
  const std::size_t max_batch_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  Stats stats_;
  std::thread writer_;
};

}  // namespace harness
