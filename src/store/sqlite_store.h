// The embedded engine: SQLite in WAL mode. A write is on disk when it returns; a batch is
// committed by commit_batch() and on disk after the next sync(), which the group committer runs
// on a thread of its own while the next batch executes. Its schema is a list of versioned steps
// (store/sqlite_schema.h). Claim and complete are a handful of indexed
// statements: partial indexes hold only the ready tasks (in plan order), the running tasks
// by owner and the running tasks by lease expiry, and each task keeps a count of its unmet
// dependencies that completion decrements through a dependents table.
#pragma once

#include <filesystem>
#include <memory>

#include "store/batching_store.h"

namespace SQLite {
class Exception;
}

namespace harness {

class SqliteStore : public BatchingStore {
 public:
  enum class Access { kReadWrite, kReadOnly };

  // Opens the database at `db_file`; kReadWrite creates it, complete with its schema, when no
  // file is there. Throws Error::io when it cannot be opened and Error::corruption when it is
  // not a harness database — an existing file without the harness tables (say, truncated to
  // zero bytes) included, a missing database whose write-ahead log is still there, and one
  // recording a schema version this build does not know. kReadWrite brings a database of an
  // earlier version to the current one (migrate_schema); kReadOnly reads it as it is.
  // Concurrent Stores on one file are safe: writers wait up to 5 s for each other. One Store
  // is used by one thread at a time, except that sync() may run alongside anything.
  SqliteStore(const std::filesystem::path& db_file, Access access);
  ~SqliteStore() override;

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

  // Checks the database's pages and indexes (PRAGMA quick_check); throws Error::corruption.
  void check_integrity();

  // Zero-fills the write-ahead log, beyond what it holds, to the size it reaches between two
  // checkpoints, and makes that durable: from then on a commit overwrites blocks the file
  // already has, and the fdatasync after it need not also record a longer file (PostgreSQL
  // pre-zeroes its WAL segments for the same reason). Takes the write lock meanwhile, so that no
  // other writer appends to the log; SQLite reads a log only up to its first invalid frame, which a
  // zeroed one is. For the daemon's store, once at start. Throws Error::io, having written nothing
  // or taken back what it wrote, when the log cannot be written or when the file system has less
  // than four times the log's size free: speed never takes a disk's last space.
  void preallocate_log();

  // Meta values (small strings keyed by name) for bookkeeping such as the legacy import.
  std::optional<std::string> meta(const std::string& key);
  void set_meta(const std::string& key, const std::string& value);

 private:
  std::optional<Workflow> load_unguarded();
  std::optional<StatusCounts> status_counts_unguarded();
  std::exception_ptr as_error(const SQLite::Exception& e) const;
  // Opens the write-ahead log for sync() and commits without syncing from now on.
  void open_wal(const std::filesystem::path& db_file);

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace harness
