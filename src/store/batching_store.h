// Group commit's side of a store (DESIGN §4): many writes carried by one transaction, made
// durable by one sync. The group committer (server/group_commit.h) is its one user, and the
// store tests go through the same four calls.
//
// A batch holds mutations, each of which makes one Store write as its last step (what the
// daemon's claims, completes and imports are). A write undoes itself when it fails (Store), so a
// mutation that throws leaves nothing behind and its neighbours in the batch are kept, with no
// savepoint of its own. What a mutation does before its write is not undone, and neither is its
// write when something after it throws: a mutation must not do that.
#pragma once

#include <exception>
#include <functional>

#include "store/store.h"

namespace harness {

class BatchingStore : public Store {
 public:
  // Runs on the store's thread, inside the open batch.
  using Mutation = std::function<void(Store&)>;

  // Opens a batch: one transaction. Throws Error when it cannot.
  virtual void begin_batch() = 0;
  // Runs `mutation` against this store in the open batch; returns what it threw, or nullptr.
  virtual std::exception_ptr run_in_batch(const Mutation& mutation) = 0;
  // Commits the batch and returns nullptr, or returns the failure, in which case none of its
  // mutations was written. A commit is visible to readers at once but durable only after a
  // later sync().
  virtual std::exception_ptr commit_batch() = 0;
  // Makes every batch committed before the call durable. May run on another thread while a
  // batch executes. Throws Error::io when the storage reports a failure; what was committed
  // since the last successful sync() may then be lost in a crash.
  virtual void sync() = 0;
  // Whether a failed sync() leaves the store unable to promise durability until it is opened
  // again (a local file whose failed fsync may have dropped dirty pages), rather than only
  // failing the batches it covered (a database server that is reached again).
  virtual bool sync_failure_is_permanent() const { return true; }
};

}  // namespace harness
