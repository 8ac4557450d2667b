// The PostgreSQL engine (DESIGN §8c): the Store contract over a database that several daemons,
// on several machines, share. One database holds any number of plans; a store works on the
// plan it was opened for.
//
// What makes it safe to share: every change to a task row locks the row first; a claim looks
// for its candidates with FOR UPDATE SKIP LOCKED, so two daemons never take one task and a
// claim never waits for another daemon's transaction; a change by a holder waits for its task's
// row only when nothing else in its transaction holds a lock (otherwise it asks NOWAIT and, when
// the row is busy, commits what its transaction did so far and waits in a fresh one), so that
// two daemons' batches cannot wait for each other in a cycle. Completions lock the rows of the
// dependents they release in plan order. A commit that may have made work ready notifies the
// plan's channel (LISTEN/NOTIFY, store/pg_change_feed.h), which wakes the other daemons'
// waiting claims.
//
// Durability, and group commit: a batch's transaction commits without waiting for the server's
// WAL flush (synchronous_commit off for that transaction alone), and sync() then commits a
// transaction of its own on a second connection the usual way, which waits until the WAL is
// flushed (and replicated, as the server's synchronous_commit says) past every earlier commit.
// So, as with SQLite, many batches share one flush, and no reply leaves before its change is
// durable. A write outside a batch commits synchronously.
//
// When the server goes away, every call fails with Error::io naming it, and the connection is
// made again, with a growing pause between attempts, by the calls that follow: an outage is
// reported, never acknowledged, and a failed sync fails only the batches it covered.
#pragma once

#include <memory>
#include <string>

#include "store/batching_store.h"

namespace harness {

// Where a PostgreSQL store lives: the server and the plan within its database.
struct PgTarget {
  std::string url;   // postgresql://... or a libpq connection string
  std::string plan;  // the plan's name, unique in the database
};

class PgStore : public BatchingStore {
 public:
  enum class Access { kReadWrite, kReadOnly };

  // Connects. kReadWrite creates or migrates the schema (store/pg_schema.h) and the plan's row;
  // kReadOnly only reads (a database without the schema, or without the plan, has no
  // workflow). Throws Error::io when the server cannot be reached, Error::corruption when it
  // holds a schema version this build does not know.
  PgStore(PgTarget target, Access access);
  ~PgStore() override;

  std::optional<Workflow> load() override;
  std::optional<StatusCounts> status_counts() override;
  void replace_workflow(const Workflow& workflow, ReplaceMode mode) override;
  ClaimResult claim(const std::string& worker_id, Micros now, const ClaimFilter& filter = {},
                    const std::optional<std::string>& worktree = std::nullopt) override;
  std::optional<VerificationCommands> complete(const std::string& task_id, const Holder& holder,
                                               Micros now,
                                               const std::optional<std::string>& head_commit,
                                               const CompleteOptions& options = {}) override;
  Micros heartbeat(const std::string& task_id, const Holder& holder, Micros now) override;
  void release(const std::string& task_id, const Holder& holder) override;
  FailResult fail(const std::string& task_id, const Holder& holder, const std::string& reason,
                  Micros now) override;
  void retry(const std::string& task_id) override;
  std::int64_t renew_leases(const std::string& worker_id, Micros now) override;
  void add_task(const Task& task) override;
  void reset() override;
  std::optional<Micros> next_deadline() override;
  std::optional<CompletionMark> completion_mark(const std::string& worker_id) override;
  void begin_batch() override;
  std::exception_ptr run_in_batch(const Mutation& mutation) override;
  std::exception_ptr commit_batch() override;
  void sync() override;
  bool sync_failure_is_permanent() const override { return false; }

  const PgTarget& target() const;
  // The LISTEN/NOTIFY channel on which commits of this plan that may make work ready are
  // announced.
  std::string change_channel() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace harness
