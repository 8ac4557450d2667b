#include "store/sqlite_store.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "core/error.h"
#include "core/posix.h"
#include "store/sqlite_schema.h"
#include "store/store_rules.h"

namespace harness {

namespace {

constexpr int kBusyTimeoutMs = 5000;
// The write-ahead log's layout (sqlite.org/fileformat.html#the_write_ahead_log).
constexpr off_t kWalHeaderBytes = 32;
constexpr off_t kWalFrameHeaderBytes = 24;
// A log is preallocated only where this many times its size is free.
constexpr double kWalSpareFactor = 4;

constexpr const char* kTaskColumns =
    "seq, id, description, status, dependencies, started_at, completed_at, claimed_by, "
    "timeout_seconds, instructions, command, priority, role, max_attempts, retry_backoff, "
    "attempts, last_error, lease_expires, retry_at, packet, lease, worktree";
// The positions in kTaskColumns of what read_task does not read.
enum TaskColumn { kSeq = 0, kLease = 20 };

// The claim policy's candidates (DESIGN §3, §2b), each found through a partial index. The
// ready index keeps tasks with a role apart from those without, so that both a worker that
// takes anything and one that takes its role or none find their best task in a probe or two.
const std::string kSelectTask = std::string("SELECT ") + kTaskColumns + " FROM tasks ";
const std::string kTaskHeldBy =
    kSelectTask + "WHERE claimed_by = ?1 AND status = 'running' ORDER BY seq LIMIT 1";
const std::string kFirstReadyTask =
    kSelectTask +
    "INDEXED BY tasks_ready WHERE status = 'pending' AND unmet = 0 AND retry_at IS NULL AND "
    "(role IS NOT NULL) = ?1 ORDER BY priority DESC, seq LIMIT 1";
const std::string kFirstReadyTaskOfRole =
    kSelectTask +
    "INDEXED BY tasks_ready_role WHERE status = 'pending' AND unmet = 0 AND retry_at IS NULL AND "
    "role IS NOT NULL AND role = ?1 ORDER BY priority DESC, seq LIMIT 1";
const std::string kFirstExpiredTask =
    kSelectTask +
    "INDEXED BY tasks_owner WHERE status = 'running' AND lease_expires < ?1 AND unmet = 0 AND "
    "(?2 IS NULL OR role IS NULL OR role = ?2) ORDER BY lease_expires LIMIT 1";
// A failed task's backoff ends: it joins the ready tasks.
constexpr const char* kAnyBackoffEnded =
    "SELECT 1 FROM tasks INDEXED BY tasks_backoff WHERE status = 'pending' AND "
    "retry_at IS NOT NULL AND retry_at <= ?1 LIMIT 1";
constexpr const char* kEndBackoffs =
    "UPDATE tasks SET retry_at = NULL WHERE status = 'pending' AND retry_at IS NOT NULL AND "
    "retry_at <= ?1";
// Asked only when a claim finds nothing: the plan is complete unless a task is still running
// (through tasks_owner, which holds exactly the running tasks), ready, or waiting out a backoff.
constexpr const char* kAnyRunningTask =
    "SELECT 1 FROM tasks INDEXED BY tasks_owner WHERE status = 'running' LIMIT 1";
constexpr const char* kAnyReadyTask =
    "SELECT 1 FROM tasks INDEXED BY tasks_ready WHERE status = 'pending' AND unmet = 0 AND "
    "retry_at IS NULL LIMIT 1";
constexpr const char* kAnyBackoff =
    "SELECT 1 FROM tasks INDEXED BY tasks_backoff WHERE status = 'pending' AND "
    "retry_at IS NOT NULL LIMIT 1";
// Completion marks are meta rows keyed "completion:<worker id>"; ';' follows ':' in ASCII, so
// the key range below holds exactly them and is read through the primary key.
constexpr const char* kCompletionMarkPrefix = "completion:";
constexpr const char* kDeleteCompletionMarks =
    "DELETE FROM meta WHERE key >= 'completion:' AND key < 'completion;'";

std::optional<Micros> optional_int(const SQLite::Column& c) {
  return c.isNull() ? std::nullopt : std::optional<Micros>(c.getInt64());
}

std::optional<std::string> optional_text(const SQLite::Column& c) {
  return c.isNull() ? std::nullopt : std::optional<std::string>(c.getString());
}

// nlohmann's parser, not parse_json: a stored list is small and was written by Json::dump, and
// on the claim path the plain parser is the cheaper one. Its exceptions are turned into
// Error::corruption by Impl::decoded.
std::vector<std::string> string_list(const std::string& json_text) {
  return Json::parse(json_text).get<std::vector<std::string>>();
}

// `value`, `what` of `whose`, as JSON text. Throws Error::invalid for a string that is not
// valid UTF-8, which the store could not read back as it was given.
std::string json_text(const Json& value, std::string_view what, std::string_view whose) {
  try {
    return value.dump();
  } catch (const Json::exception& e) {
    throw Error::invalid(std::string(what) + std::string(whose) + " cannot be stored: " + e.what());
  }
}

// Everything a Store throws is a harness::Error (core/error.h).
[[noreturn]] void rethrow_as_error(const SQLite::Exception& e, const std::filesystem::path& file) {
  const std::string where = file.string() + ": " + e.what();
  switch (e.getErrorCode()) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      throw Error::corruption("the state database is damaged: " + where);
    case SQLITE_FULL:
      throw Error::io("the disk is full: " + where);
    case SQLITE_READONLY:
      throw Error::io("the state database is read-only: " + where);
    case SQLITE_BUSY:
      throw Error::io("the state database is locked by another process: " + where);
    default:
      throw Error::io("state database error: " + where);
  }
}

}  // namespace

struct SqliteStore::Impl {
  // The database file as the writer opened it, to notice it being deleted or replaced: either
  // leaves it with no link (an fstat, cheaper than a stat of its path on the commit path).
  // Declared before `db` so that it is closed after it: closing any descriptor of a file drops
  // the process's POSIX locks on it, SQLite's included.
  UniqueFd db_file;
  SQLite::Database db;
  std::filesystem::path file;
  // Prepared once, reset after each use.
  std::optional<SQLite::Statement> held_by, first_ready, first_ready_of_role, first_expired,
      claim_row, renew_row, task_by_id, finish, dependents_of, release_one, any_running, any_ready,
      any_backoff, any_backoff_ended, end_backoffs;
  // The transaction and savepoint statements of every write, prepared once: they run on the hot
  // path, and compiling them each time would cost more than running them.
  std::optional<SQLite::Statement> savepoint_write, release_write, begin_immediate, commit;
  // The write-ahead log, opened by us as well: sync() makes what was committed durable with
  // fdatasync on this descriptor, so it can run on another thread while SQLite writes.
  UniqueFd wal;

  Impl(const std::filesystem::path& path, Access access)
      // NOMUTEX: a store is used by one thread at a time, so SQLite's per-call connection
      // mutex (several lock/unlock pairs per claim) buys nothing.
      : db(path.string(),
           SQLite::OPEN_NOMUTEX |
               (access == Access::kReadOnly ? SQLite::OPEN_READONLY
                                            : SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE),
           kBusyTimeoutMs),
        file(path) {}

  SQLite::Statement& prepared(std::optional<SQLite::Statement>& slot, const std::string& sql) {
    if (!slot) slot.emplace(db, sql);
    // tryReset: reset() would throw the statement's last error again, failing a later use of
    // it because an earlier one failed.
    slot->tryReset();
    slot->clearBindings();
    return *slot;
  }

  // A cached statement left on a row keeps its read transaction, and so an old snapshot of
  // the database, open after COMMIT: reset them all whenever a transaction ends.
  void reset_statements() {
    for (auto* slot : {&held_by, &first_ready, &first_ready_of_role, &first_expired, &claim_row,
                       &renew_row, &task_by_id, &finish, &dependents_of, &release_one, &any_running,
                       &any_ready, &any_backoff, &any_backoff_ended, &end_backoffs})
      if (*slot) (*slot)->tryReset();
  }

  // Runs `f`, turning SQLite's exceptions into harness::Error.
  template <typename F>
  auto guarded(F&& f) {
    try {
      return f();
    } catch (const SQLite::Exception& e) {
      rethrow_as_error(e, file);
    }
  }

  bool has_workflow() {
    SQLite::Statement q(db, "SELECT 1 FROM meta WHERE key = 'workflow'");
    return q.executeStep();
  }

  // Runs `decode`, which turns what the database holds into a value; a failure of it is damage
  // to `what` of `whose` (named only then: this is on the hot path).
  template <typename Decode>
  auto decoded(std::string_view what, std::string_view whose, Decode&& decode) {
    try {
      return decode();
    } catch (const SQLite::Exception&) {
      throw;
    } catch (const std::exception& e) {
      throw Error::corruption("the state database is damaged: " + file.string() + ": " +
                              std::string(what) + std::string(whose) + ": " + e.what());
    }
  }

  Task read_task(SQLite::Statement& q) {
    Task task;
    task.id = q.getColumn(1).getString();
    task.description = q.getColumn(2).getString();
    decoded("task ", task.id, [&] {
      task.status = parse_task_status(q.getColumn(3).getString());
      task.dependencies = string_list(q.getColumn(4).getString());
      if (!q.getColumn(10).isNull()) task.command = string_list(q.getColumn(10).getString());
      if (!q.getColumn(19).isNull())
        task.packet = packet_from_json(Json::parse(q.getColumn(19).getString()), task.id);
    });
    task.started_at = optional_int(q.getColumn(5));
    task.completed_at = optional_int(q.getColumn(6));
    task.claimed_by = optional_text(q.getColumn(7));
    task.timeout_seconds = q.getColumn(8).getInt64();
    task.instructions = optional_text(q.getColumn(9));
    task.priority = q.getColumn(11).getInt64();
    task.role = optional_text(q.getColumn(12));
    task.max_attempts = q.getColumn(13).getInt64();
    task.retry_backoff_seconds = q.getColumn(14).getInt64();
    task.attempts = q.getColumn(15).getInt64();
    task.last_error = optional_text(q.getColumn(16));
    if (task.status == TaskStatus::kRunning) task.lease_expires_at = optional_int(q.getColumn(17));
    task.retry_at = optional_int(q.getColumn(18));
    task.worktree = optional_text(q.getColumn(21));
    return task;
  }

  // A candidate a claim found: the task, its row and its lease token.
  struct Candidate {
    Task task;
    std::int64_t seq = 0;
    std::int64_t lease = 0;
  };

  // Steps `query`, a SELECT of the task columns, for its first row.
  std::optional<Candidate> first(SQLite::Statement& query) {
    std::optional<Candidate> found;
    if (query.executeStep())
      found = Candidate{read_task(query), query.getColumn(kSeq).getInt64(),
                        query.getColumn(kLease).getInt64()};
    query.reset();
    return found;
  }

  // Gives `c` to `worker_id` under a fresh lease from `now`, counting `expired_attempt` (the
  // attempt of a previous holder whose lease ran out), and returns the claim.
  ClaimResult take(Candidate c, const std::string& worker_id, Micros now, bool expired_attempt,
                   const std::optional<std::string>& worktree) {
    auto& update = prepared(
        claim_row,
        "UPDATE tasks SET status = 'running', claimed_by = ?2, started_at = ?3, "
        "completed_at = NULL, lease_expires = ?3 + timeout_seconds * 1000000, retry_at = NULL, "
        "lease = lease + 1, attempts = attempts + ?4, worktree = ?5 WHERE seq = ?1");
    update.bind(1, c.seq);
    update.bind(2, worker_id);
    update.bind(3, now);
    update.bind(4, expired_attempt ? 1 : 0);
    if (worktree)
      update.bind(5, *worktree);
    else
      update.bind(5);  // NULL: the last holder's worktree is not this one's
    update.exec();     // the claim's last change (see Changes)
    Task& task = c.task;
    task.status = TaskStatus::kRunning;
    task.claimed_by = worker_id;
    task.worktree = worktree;
    task.started_at = now;
    task.completed_at.reset();
    task.retry_at.reset();
    task.lease_expires_at = now + task.timeout_seconds * kMicrosPerSecond;
    if (expired_attempt) ++task.attempts;
    ClaimResult result;
    result.lease = lease_token(c.lease + 1);
    result.attempt = task.attempts + 1;
    result.task = std::move(task);
    return result;
  }

  // The worker's own running task, its lease renewed from `now`. Claiming again restarts
  // started_at too, as the seed's flows require (a heartbeat leaves it).
  ClaimResult renew(Candidate c, Micros now, const std::optional<std::string>& worktree) {
    auto& update = prepared(renew_row,
                            "UPDATE tasks SET started_at = ?2, lease_expires = ?2 + "
                            "timeout_seconds * 1000000, worktree = COALESCE(?3, worktree) "
                            "WHERE seq = ?1");
    update.bind(1, c.seq);
    update.bind(2, now);
    if (worktree)
      update.bind(3, *worktree);
    else
      update.bind(3);
    update.exec();
    if (worktree) c.task.worktree = worktree;
    c.task.started_at = now;
    c.task.lease_expires_at = now + c.task.timeout_seconds * kMicrosPerSecond;
    ClaimResult result;
    result.is_retry = true;
    result.lease = lease_token(c.lease);
    result.attempt = c.task.attempts + 1;
    result.task = std::move(c.task);
    return result;
  }

  // The better of two ready candidates: higher priority, then earlier in the plan.
  static std::optional<Candidate> better(std::optional<Candidate> a, std::optional<Candidate> b) {
    if (!a || !b) return a ? std::move(a) : std::move(b);
    const bool a_first = a->task.priority != b->task.priority ? a->task.priority > b->task.priority
                                                              : a->seq < b->seq;
    return a_first ? std::move(a) : std::move(b);
  }

  // The ready task a worker with `filter` takes.
  std::optional<Candidate> first_ready_task(const ClaimFilter& filter) {
    const auto of_kind = [&](bool with_role) {
      auto& q = prepared(first_ready, kFirstReadyTask);
      q.bind(1, with_role ? 1 : 0);
      return first(q);
    };
    if (!filter.role) return better(of_kind(false), of_kind(true));
    auto& of_role = prepared(first_ready_of_role, kFirstReadyTaskOfRole);
    of_role.bind(1, *filter.role);
    return better(of_kind(false), first(of_role));
  }

  bool exists(std::optional<SQLite::Statement>& slot, const char* sql) {
    auto& q = prepared(slot, sql);
    const bool found = q.executeStep();
    q.reset();
    return found;
  }

  // The tasks that depend on task `seq`.
  std::vector<std::int64_t> dependents_of_task(std::int64_t seq) {
    auto& dependents = prepared(dependents_of, "SELECT task FROM dependents WHERE dep = ?1");
    dependents.bind(1, seq);
    std::vector<std::int64_t> found;
    while (dependents.executeStep()) found.push_back(dependents.getColumn(0).getInt64());
    dependents.reset();
    return found;
  }

  // One fewer unmet dependency for each of `released`.
  void release(const std::vector<std::int64_t>& released) {
    for (const std::int64_t task : released) {
      auto& release = prepared(release_one, "UPDATE tasks SET unmet = unmet - 1 WHERE seq = ?1");
      release.bind(1, task);
      release.exec();
    }
  }

  // What a write's body changes, for write() to undo it. Inside a batch's transaction a body
  // that makes one change, one statement, needs no savepoint: SQLite applies a statement whole
  // or not at all. Such a body must make its change last, since a throw after it would leave
  // it in place. A body that makes several calls several() before the first.
  class Changes {
   public:
    Changes(Impl& store, bool in_transaction) : store_(store), in_transaction_(in_transaction) {}
    void several() {
      if (!in_transaction_ || savepoint_) return;
      store_.prepared(store_.savepoint_write, "SAVEPOINT write_op").exec();
      savepoint_ = true;
    }
    bool savepoint() const { return savepoint_; }

   private:
    Impl& store_;
    const bool in_transaction_;
    bool savepoint_ = false;
  };

  // Runs `body(Changes&)` atomically: in an IMMEDIATE transaction of its own at top level,
  // inside the batch's transaction when one is open (see Changes).
  template <typename Body>
  auto write(Body&& body) {
    const bool top_level = sqlite3_get_autocommit(db.getHandle()) != 0;
    if (top_level) begin();
    Changes changes(*this, !top_level);
    try {
      if constexpr (std::is_void_v<decltype(body(changes))>) {
        body(changes);
        finish_write(top_level, changes);
      } else {
        auto result = body(changes);
        finish_write(top_level, changes);
        return result;
      }
    } catch (const SQLite::Exception& e) {
      abandon(top_level, changes);
      rethrow_as_error(e, file);
    } catch (...) {
      abandon(top_level, changes);
      throw;
    }
  }

  void finish_write(bool top_level, const Changes& changes) {
    if (top_level) {
      commit_transaction();
      sync_wal();
    } else if (changes.savepoint()) {
      prepared(release_write, "RELEASE write_op").exec();
    }
  }

  void begin() { prepared(begin_immediate, "BEGIN IMMEDIATE").exec(); }

  void commit_transaction() {
    reset_statements();
    prepared(commit, "COMMIT").exec();
  }

  void abandon(bool top_level, const Changes& changes) {
    if (top_level) {
      reset_statements();
      undo("ROLLBACK");
    } else if (changes.savepoint()) {
      undo("ROLLBACK TO write_op; RELEASE write_op");
    }
  }

  // Commits run with synchronous=NORMAL, which leaves the log unsynced; this is the fsync that
  // synchronous=FULL would have done at each commit. The log only grows or is rewritten
  // after a checkpoint, which syncs it first, so one fdatasync covers every earlier commit.
  void sync_wal() {
    if (wal && ::fdatasync(wal.get()) != 0)
      throw Error::from_errno("cannot make " + file.string() + "-wal durable");
    if (wal) check_in_place();
  }

  void undo(const char* sql) {
    try {
      db.exec(sql);
    } catch (const SQLite::Exception&) {
      // The transaction is already gone (SQLite rolls back by itself on some errors).
    }
  }

  // Committed writes are in the files this store has open; they count only while those files
  // are still the ones at their paths. `git clean -fdx` in a worktree whose state lived in it
  // deleted them under a running daemon, which went on acknowledging changes into files no
  // restart would find. Deleting a file or renaming another over it leaves ours unlinked: two
  // fstat calls, on the commit path; the path is looked at only to say which happened.
  void check_in_place() {
    struct stat db_now, log;
    const char* what = nullptr;
    if (::fstat(db_file.get(), &db_now) == 0 && db_now.st_nlink == 0) {
      struct stat by_path;
      what = ::stat(file.c_str(), &by_path) == 0 ? "was replaced by another file" : "was deleted";
    } else if (::fstat(wal.get(), &log) == 0 && log.st_nlink == 0) {
      what = "lost its write-ahead log (state.db-wal was deleted)";
    }
    if (!what) return;
    throw Error::io("the state database " + file.string() + " " + what +
                    " while the daemon was using it (by `git clean -fdx`, `git stash --all` or " +
                    "`rm`?): changes made now would be lost. Stop the daemon (`harness " +
                    "shutdown`; the next harness command starts a new one)");
  }

  static constexpr const char* kInsertTask =
      "INSERT INTO tasks(seq, id, description, status, dependencies, started_at, completed_at, "
      "claimed_by, timeout_seconds, instructions, command, unmet, lease_expires, priority, role, "
      "max_attempts, retry_backoff, attempts, last_error, retry_at, packet, lease, worktree) "
      "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
      "?19, ?20, ?21, ?22, ?23)";

  // Binds kInsertTask's parameters for `t` at `seq` with `unmet` dependencies not completed.
  static void bind_task(SQLite::Statement& insert, std::int64_t seq, const Task& t,
                        std::int64_t unmet) {
    insert.reset();
    insert.clearBindings();
    insert.bind(1, seq);
    insert.bind(2, t.id);
    insert.bind(3, t.description);
    insert.bind(4, std::string(to_string(t.status)));
    insert.bind(5, json_text(Json(t.dependencies), "the dependencies of task ", t.id));
    if (t.started_at) insert.bind(6, *t.started_at);
    if (t.completed_at) insert.bind(7, *t.completed_at);
    if (t.claimed_by) insert.bind(8, *t.claimed_by);
    insert.bind(9, t.timeout_seconds);
    if (t.instructions) insert.bind(10, *t.instructions);
    if (t.command) insert.bind(11, json_text(Json(*t.command), "the command of task ", t.id));
    insert.bind(12, unmet);
    // A running task with no start time has no lease left: it is reclaimable at once.
    if (t.status == TaskStatus::kRunning)
      insert.bind(13, t.lease_expires_at.value_or(
                          t.started_at ? *t.started_at + t.timeout_seconds * kMicrosPerSecond : 0));
    insert.bind(14, t.priority);
    if (t.role) insert.bind(15, *t.role);
    insert.bind(16, t.max_attempts);
    insert.bind(17, t.retry_backoff_seconds);
    insert.bind(18, t.attempts);
    if (t.last_error) insert.bind(19, *t.last_error);
    if (t.retry_at && t.status == TaskStatus::kPending) insert.bind(20, *t.retry_at);
    if (!t.packet.empty())
      insert.bind(21, json_text(packet_to_json(*t.packet), "the packet of task ", t.id));
    insert.bind(22, random_lease_start());
    if (t.worktree) insert.bind(23, *t.worktree);
  }

  void insert_task(std::int64_t seq, const Task& task, std::int64_t unmet) {
    SQLite::Statement insert(db, kInsertTask);
    bind_task(insert, seq, task, unmet);
    insert.exec();
  }

  void insert_tasks(const Workflow& workflow) {
    const std::vector<std::int64_t> unmet = unmet_dependency_counts(workflow);
    SQLite::Statement insert(db, kInsertTask);
    for (std::size_t i = 0; i < workflow.tasks.size(); ++i) {
      bind_task(insert, static_cast<std::int64_t>(i + 1), workflow.tasks[i], unmet[i]);
      insert.exec();
    }
    insert_dependents(workflow);
  }

  // What the checks of a change to one task read.
  struct Row {
    std::int64_t seq = 0;
    TaskStatus status = TaskStatus::kPending;
    std::optional<std::string> claimed_by;
    std::int64_t lease = 0, attempts = 0, max_attempts = 0, retry_backoff = 0;
    std::int64_t timeout_seconds = 0;
    std::optional<Micros> retry_at;
    std::optional<std::string> verification;  // JSON list of argv lists
  };

  // The row of `task_id`; Error::not_found when there is none.
  Row row_of(const std::string& task_id) {
    auto& find =
        prepared(task_by_id,
                 "SELECT seq, status, claimed_by, lease, attempts, max_attempts, "
                 "retry_backoff, timeout_seconds, retry_at, "
                 "json_extract(packet, '$.verification_commands') FROM tasks WHERE id = ?1");
    find.bind(1, task_id);
    if (!find.executeStep()) throw task_not_found(task_id);
    Row row;
    row.seq = find.getColumn(0).getInt64();
    row.status =
        decoded("task ", task_id, [&] { return parse_task_status(find.getColumn(1).getString()); });
    row.claimed_by = optional_text(find.getColumn(2));
    row.lease = find.getColumn(3).getInt64();
    row.attempts = find.getColumn(4).getInt64();
    row.max_attempts = find.getColumn(5).getInt64();
    row.retry_backoff = find.getColumn(6).getInt64();
    row.timeout_seconds = find.getColumn(7).getInt64();
    row.retry_at = optional_int(find.getColumn(8));
    row.verification = optional_text(find.getColumn(9));
    find.reset();
    return row;
  }

  // The row of a task `holder` holds, after the checks of Store (store.h).
  Row held_row(const std::string& task_id, const Holder& holder) {
    Row row = row_of(task_id);
    check_holder(task_id, holder, HeldState{row.status, row.claimed_by, row.lease});
    return row;
  }

  // UPDATE tasks SET `assignments` WHERE seq = ?1, with ?2... bound to `values`.
  template <typename... Values>
  void update_row(std::int64_t seq, const std::string& assignments, const Values&... values) {
    SQLite::Statement update(db, "UPDATE tasks SET " + assignments + " WHERE seq = ?1");
    update.bind(1, seq);
    int index = 2;
    (bind_value(update, index++, values), ...);
    update.exec();
  }

  template <typename Value>
  static void bind_value(SQLite::Statement& statement, int index, const Value& value) {
    if constexpr (requires { value.has_value(); }) {
      if (value) statement.bind(index, *value);
    } else {
      statement.bind(index, value);
    }
  }

  // Ends an attempt of the task in `row` that did not complete, for `reason`: pending again
  // after its backoff while attempts remain, else failed.
  FailResult end_attempt(const Row& row, const std::string& reason, Micros now) {
    const FailResult result =
        end_of_attempt(row.attempts, row.max_attempts, row.retry_backoff, now);
    if (result.status == TaskStatus::kFailed) {
      update_row(row.seq,
                 "status = 'failed', attempts = ?2, last_error = ?3, lease_expires = NULL, "
                 "retry_at = NULL",
                 result.attempt, reason);
      return result;
    }
    update_row(row.seq,
               "status = 'pending', claimed_by = NULL, worktree = NULL, started_at = NULL, "
               "lease_expires = NULL, "
               "attempts = ?2, last_error = ?3, retry_at = ?4",
               result.attempt, reason, result.retry_at);
    return result;
  }

  // A task whose lease ran out: the last attempt fails it; else the claim's last change gives
  // it to `worker_id` as a new holder (a new token), counting the expired attempt.
  std::optional<ClaimResult> take_expired(Candidate c, const std::string& worker_id, Micros now,
                                          const std::optional<std::string>& worktree,
                                          std::vector<Task>& failed, Changes& changes) {
    if (c.task.attempts + 1 < c.task.max_attempts) {
      ClaimResult result = take(std::move(c), worker_id, now, true, worktree);
      result.is_reclaim = true;
      result.failed_on_expiry = std::move(failed);
      return result;
    }
    changes.several();
    Task& task = c.task;
    const std::string reason =
        expired_lease_reason(task.claimed_by, task.attempts + 1, task.max_attempts);
    end_attempt(row_of(task.id), reason, now);
    task.status = TaskStatus::kFailed;
    task.attempts += 1;
    task.last_error = reason;
    task.lease_expires_at.reset();
    failed.push_back(std::move(task));
    return std::nullopt;
  }

  // The claim's last step: reclaim a task whose lease expired. A task whose expired attempt
  // was its last becomes failed on the way (and the search goes on).
  ClaimResult reclaim(const std::string& worker_id, Micros now, const ClaimFilter& filter,
                      const std::optional<std::string>& worktree, std::vector<Task>& failed,
                      Changes& changes) {
    for (;;) {
      auto& expired = prepared(first_expired, kFirstExpiredTask);
      expired.bind(1, now);
      if (filter.role) expired.bind(2, *filter.role);
      std::optional<Candidate> c = first(expired);
      if (!c) break;
      if (auto taken = take_expired(std::move(*c), worker_id, now, worktree, failed, changes))
        return *taken;
    }
    ClaimResult result;
    result.failed_on_expiry = std::move(failed);
    result.plan_complete = !exists(any_running, kAnyRunningTask) &&
                           !exists(any_ready, kAnyReadyTask) && !exists(any_backoff, kAnyBackoff);
    return result;
  }

  void insert_dependents(const Workflow& workflow) {
    std::unordered_map<std::string_view, std::int64_t> seq_of;
    seq_of.reserve(workflow.tasks.size());
    for (std::size_t i = 0; i < workflow.tasks.size(); ++i)
      seq_of.emplace(workflow.tasks[i].id, i + 1);
    SQLite::Statement insert(db, "INSERT OR IGNORE INTO dependents(dep, task) VALUES(?1, ?2)");
    for (std::size_t i = 0; i < workflow.tasks.size(); ++i) {
      for (const std::string& dep : workflow.tasks[i].dependencies) {
        insert.reset();
        insert.bind(1, seq_of.at(dep));
        insert.bind(2, static_cast<std::int64_t>(i + 1));
        insert.exec();
      }
    }
  }
};

namespace {

// Writes zeros to [from, to) of `fd`; false with errno set when a write fails.
bool zero_fill(int fd, off_t from, off_t to) {
  static const std::vector<char> zeros(64 * 1024, 0);
  while (from < to) {
    const std::size_t chunk = std::min<off_t>(to - from, zeros.size());
    const ssize_t n = ::pwrite(fd, zeros.data(), chunk, from);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = ENOSPC;
      return false;
    }
    from += n;
  }
  return true;
}

// Writes a complete, empty harness database to `file` if no file is there. It is built under a
// temporary name and linked into place, so that a database file that exists always has its
// schema: one that has none was damaged (truncated, overwritten), never half-created. The
// file is 0600 (SQLite gives the -wal and -shm files the database's mode).
void create_database_if_missing(const std::filesystem::path& file) {
  if (::access(file.c_str(), F_OK) == 0) {
    // SQLite would only say "unable to open database file"; the system's reason is clearer.
    if (::access(file.c_str(), W_OK) != 0) throw Error::from_errno("cannot write " + file.string());
    return;
  }
  const std::filesystem::path wal = file.string() + "-wal";
  if (::access(wal.c_str(), F_OK) == 0)
    throw Error::corruption(
        file.string() + " is missing but its write-ahead log " + wal.string() +
        " is there: the database was deleted after a crash. Restore it, or move the " +
        "log aside to start with no workflow.");
  const std::filesystem::path temp = file.string() + ".new-" + std::to_string(::getpid());
  const int fd = ::open(temp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) throw Error::from_errno("cannot create " + temp.string());
  ::close(fd);
  try {
    SQLite::Database db(temp.string(), SQLite::OPEN_READWRITE);
    db.exec("PRAGMA journal_mode = WAL");
    migrate_schema(db);
  } catch (const SQLite::Exception& e) {
    ::unlink(temp.c_str());
    rethrow_as_error(e, temp);
  }
  // link(2) fails with EEXIST when another process created the database first: use theirs.
  const bool linked = ::link(temp.c_str(), file.c_str()) == 0 || errno == EEXIST;
  const int link_errno = errno;
  for (const char* suffix : {"", "-wal", "-shm"}) ::unlink((temp.string() + suffix).c_str());
  errno = link_errno;
  if (!linked) throw Error::from_errno("cannot create " + file.string());
}

// SQLite counts every allocation under a process-wide mutex unless told not to: two lock/unlock
// pairs per malloc, on the hot path. It can only be turned off before SQLite is
// initialised; when something in the process (Python's sqlite3 module, say) was first, the
// call is refused and the counting stays.
void disable_memory_statistics() {
  static const bool once = (sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0), true);
  (void)once;
}

}  // namespace

SqliteStore::SqliteStore(const std::filesystem::path& db_file, Access access) {
  disable_memory_statistics();
  if (access == Access::kReadWrite) create_database_if_missing(db_file);
  try {
    impl_ = std::make_unique<Impl>(db_file, access);
    SQLite::Database& db = impl_->db;
    if (!db.tableExists("meta"))
      throw Error::corruption(db_file.string() +
                              " is not a harness state database (it has no harness tables)");
    const std::optional<int> version = stored_schema_version(db);
    if (!version) throw Error::corruption(db_file.string() + " has an unknown schema version");
    if (access == Access::kReadWrite) {
      // Looked at first, so that the usual open stays a read.
      if (*version < current_schema_version()) migrate_schema(db);
      open_wal(db_file);
    } else {
      read_as_current_schema(db, *version);
    }
  } catch (const SQLite::Exception& e) {
    rethrow_as_error(e, db_file);
  }
}

void SqliteStore::open_wal(const std::filesystem::path& db_file) {
  SQLite::Database& db = impl_->db;
  db.exec("PRAGMA journal_mode = WAL");    // it is already, unless set otherwise by hand
  db.exec("PRAGMA synchronous = NORMAL");  // sync_wal() does the syncing
  const std::string wal = db_file.string() + "-wal";
  impl_->wal.reset(::open(wal.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!impl_->wal) throw Error::from_errno("cannot open " + wal);
  impl_->db_file.reset(::open(db_file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!impl_->db_file) throw Error::from_errno("cannot open " + db_file.string());
}

void SqliteStore::sync() { impl_->sync_wal(); }

void SqliteStore::preallocate_log() {
  impl_->guarded([&] {
    SQLite::Database& db = impl_->db;
    const std::int64_t page_size = db.execAndGet("PRAGMA page_size").getInt64();
    const std::int64_t checkpoint_frames = db.execAndGet("PRAGMA wal_autocheckpoint").getInt64();
    // The commit that passes the checkpoint threshold carries some frames beyond it.
    const off_t target = kWalHeaderBytes + (checkpoint_frames + checkpoint_frames / 8) *
                                               (page_size + kWalFrameHeaderBytes);
    const std::string wal = impl_->file.string() + "-wal";
    SQLite::Transaction write_lock(db, SQLite::TransactionBehavior::IMMEDIATE);
    const UniqueFd out(::open(wal.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!out) throw Error::from_errno("cannot open " + wal);
    const off_t logged = ::lseek(out.get(), 0, SEEK_END);
    if (logged < 0) throw Error::from_errno("cannot size " + wal);
    if (logged >= target) return;  // rolled back: nothing was written
    struct statvfs disk;
    if (::fstatvfs(out.get(), &disk) == 0 &&
        static_cast<double>(disk.f_bavail) * disk.f_frsize < kWalSpareFactor * target)
      throw Error::io("not preallocating " + wal + ": too little free space");
    if (!zero_fill(out.get(), logged, target) || ::fdatasync(out.get()) != 0) {
      const int error = errno;
      (void)::ftruncate(out.get(), logged);  // never keep the disk's last space for speed
      errno = error;
      throw Error::from_errno("cannot preallocate " + wal);
    }
  });
}

void SqliteStore::check_integrity() {
  impl_->guarded([&] {
    SQLite::Statement check(impl_->db, "PRAGMA quick_check");
    check.executeStep();
    const std::string verdict = check.getColumn(0).getString();
    if (verdict != "ok") throw Error::corruption(impl_->file.string() + " is damaged: " + verdict);
  });
}

SqliteStore::~SqliteStore() = default;

std::optional<Workflow> SqliteStore::load() {
  return impl_->guarded([&] { return load_unguarded(); });
}

std::optional<Workflow> SqliteStore::load_unguarded() {
  std::optional<SQLite::Transaction> snapshot;  // one consistent read (unless already in one)
  if (sqlite3_get_autocommit(impl_->db.getHandle()) != 0) snapshot.emplace(impl_->db);
  if (!impl_->has_workflow()) return std::nullopt;
  Workflow workflow;
  SQLite::Statement q(impl_->db, kSelectTask + "ORDER BY seq");
  while (q.executeStep()) workflow.tasks.push_back(impl_->read_task(q));
  SQLite::Statement goal(impl_->db, "SELECT value FROM meta WHERE key = 'goal'");
  if (goal.executeStep()) workflow.goal = goal.getColumn(0).getString();
  return workflow;
}

std::optional<StatusCounts> SqliteStore::status_counts() {
  return impl_->guarded([&] { return status_counts_unguarded(); });
}

std::optional<StatusCounts> SqliteStore::status_counts_unguarded() {
  std::optional<SQLite::Transaction> snapshot;
  if (sqlite3_get_autocommit(impl_->db.getHandle()) != 0) snapshot.emplace(impl_->db);
  if (!impl_->has_workflow()) return std::nullopt;
  StatusCounts counts;
  SQLite::Statement q(impl_->db, "SELECT status, count(*) FROM tasks GROUP BY status");
  while (q.executeStep()) {
    const TaskStatus status = impl_->decoded(
        "a task's status", "", [&] { return parse_task_status(q.getColumn(0).getString()); });
    counts.add(status, q.getColumn(1).getInt64());
  }
  SQLite::Statement ready(impl_->db,
                          "SELECT count(*) FROM tasks WHERE status = 'pending' AND unmet = 0");
  if (ready.executeStep()) counts.ready = ready.getColumn(0).getInt64();
  return counts;
}

void SqliteStore::replace_workflow(const Workflow& workflow, ReplaceMode mode) {
  validate_workflow(workflow);
  impl_->write([&](Impl::Changes& changes) {
    changes.several();
    if (mode == ReplaceMode::kUnlessUnfinished) {
      auto counts = status_counts();
      if (counts && counts->unfinished()) throw unfinished_workflow(*counts);
    }
    impl_->db.exec("DELETE FROM tasks; DELETE FROM dependents;");
    impl_->db.exec(kDeleteCompletionMarks);
    impl_->insert_tasks(workflow);
    impl_->db.exec("INSERT OR REPLACE INTO meta(key, value) VALUES('workflow', '1')");
    impl_->db.exec("DELETE FROM meta WHERE key = 'goal'");
    if (workflow.goal) {
      SQLite::Statement goal(impl_->db, "INSERT INTO meta(key, value) VALUES('goal', ?1)");
      goal.bind(1, *workflow.goal);
      goal.exec();
    }
  });
}

// Each step of the claim policy is one indexed SELECT of the candidate task; the winner is
// then updated by its rowid. (UPDATE ... RETURNING would do it in one statement, but SQLite
// gathers RETURNING rows in a temporary b-tree that it builds and frees on every run, even
// when no row matches: that cost more than the second statement.)
ClaimResult SqliteStore::claim(const std::string& worker_id, Micros now, const ClaimFilter& filter,
                               const std::optional<std::string>& worktree) {
  return impl_->write([&](Impl::Changes& changes) {
    Impl& s = *impl_;
    std::vector<Task> failed;  // tasks whose last attempt's lease expired
    auto& held = s.prepared(s.held_by, kTaskHeldBy);
    held.bind(1, worker_id);
    if (auto mine = s.first(held)) {
      if (mine->task.lease_expires_at >= now) return s.renew(std::move(*mine), now, worktree);
      // Its lease ran out before it came back (a restarted agent under its old name): a new
      // holder, so that the old one's token no longer counts.
      if (auto taken = s.take_expired(std::move(*mine), worker_id, now, worktree, failed, changes))
        return *taken;
    }
    auto& ended = s.prepared(s.any_backoff_ended, kAnyBackoffEnded);
    ended.bind(1, now);
    if (ended.executeStep()) {
      ended.reset();
      changes.several();
      auto& end = s.prepared(s.end_backoffs, kEndBackoffs);
      end.bind(1, now);
      end.exec();
    }
    if (auto ready = s.first_ready_task(filter)) {
      ClaimResult result = s.take(std::move(*ready), worker_id, now, false, worktree);
      result.failed_on_expiry = std::move(failed);
      return result;
    }
    return s.reclaim(worker_id, now, filter, worktree, failed, changes);
  });
}

std::optional<VerificationCommands> SqliteStore::complete(
    const std::string& task_id, const Holder& holder, Micros now,
    const std::optional<std::string>& head_commit, const CompleteOptions& options) {
  return impl_->write([&](Impl::Changes& changes) -> std::optional<VerificationCommands> {
    Impl& s = *impl_;
    const Impl::Row row = options.force ? s.row_of(task_id) : s.held_row(task_id, holder);
    if (row.status == TaskStatus::kCompleted) throw already_completed(task_id);
    if (options.verify && row.verification) {
      return s.decoded("the verification commands of task ", task_id,
                       [&] { return Json::parse(*row.verification).get<VerificationCommands>(); });
    }
    const std::optional<std::string> mark =
        head_commit ? std::optional(json_text(Json{{"task_id", task_id}, {"commit", *head_commit}},
                                              "the commit completing task ", task_id))
                    : std::nullopt;
    const std::vector<std::int64_t> released = s.dependents_of_task(row.seq);
    if (!released.empty() || mark) changes.several();
    auto& finish = s.prepared(s.finish,
                              "UPDATE tasks SET status = 'completed', completed_at = ?2, "
                              "lease_expires = NULL, retry_at = NULL WHERE seq = ?1");
    finish.bind(1, row.seq);
    finish.bind(2, now);
    finish.exec();
    s.release(released);
    if (mark) set_meta(kCompletionMarkPrefix + holder.worker_id, *mark);
    return std::nullopt;
  });
}

Micros SqliteStore::heartbeat(const std::string& task_id, const Holder& holder, Micros now) {
  return impl_->write([&](Impl::Changes&) {  // one change
    const Impl::Row row = impl_->held_row(task_id, holder);
    const Micros expires = now + row.timeout_seconds * kMicrosPerSecond;
    impl_->update_row(row.seq, "lease_expires = ?2", expires);
    return expires;
  });
}

void SqliteStore::release(const std::string& task_id, const Holder& holder) {
  impl_->write([&](Impl::Changes&) {  // one change
    const Impl::Row row = impl_->held_row(task_id, holder);
    impl_->update_row(row.seq,
                      "status = 'pending', claimed_by = NULL, worktree = NULL, started_at = NULL, "
                      "lease_expires = NULL");
  });
}

FailResult SqliteStore::fail(const std::string& task_id, const Holder& holder,
                             const std::string& reason, Micros now) {
  return impl_->write([&](Impl::Changes&) {  // one change
    const Impl::Row row = impl_->held_row(task_id, holder);
    return impl_->end_attempt(row, reason, now);
  });
}

void SqliteStore::retry(const std::string& task_id) {
  impl_->write([&](Impl::Changes&) {  // one change
    const Impl::Row row = impl_->row_of(task_id);
    const bool backing_off = row.status == TaskStatus::kPending && row.retry_at;
    if (row.status != TaskStatus::kFailed && !backing_off) throw not_retryable(task_id, row.status);
    impl_->update_row(row.seq,
                      "status = 'pending', claimed_by = NULL, worktree = NULL, started_at = NULL, "
                      "lease_expires = NULL, retry_at = NULL, attempts = 0");
  });
}

std::int64_t SqliteStore::renew_leases(const std::string& worker_id, Micros now) {
  return impl_->write([&](Impl::Changes&) {  // one change
    SQLite::Statement renew(
        impl_->db,
        "UPDATE tasks INDEXED BY tasks_owner SET lease_expires = ?2 + "
        "timeout_seconds * 1000000 WHERE claimed_by = ?1 AND status = 'running'");
    renew.bind(1, worker_id);
    renew.bind(2, now);
    return static_cast<std::int64_t>(renew.exec());
  });
}

void SqliteStore::add_task(const Task& task) {
  impl_->write([&](Impl::Changes& changes) {
    Impl& s = *impl_;
    if (!s.has_workflow()) throw no_workflow();
    if (task.status != TaskStatus::kPending) throw added_not_pending(task.id);
    SQLite::Statement known(s.db, "SELECT status FROM tasks WHERE id = ?1");
    known.bind(1, task.id);
    if (known.executeStep()) throw duplicate_task(task.id);
    std::int64_t unmet = 0;
    std::vector<std::string> seen;
    for (const std::string& dep : task.dependencies) {
      if (std::find(seen.begin(), seen.end(), dep) != seen.end()) continue;
      seen.push_back(dep);
      known.reset();
      known.bind(1, dep);
      if (!known.executeStep()) throw missing_dependency(dep, task.id);
      if (known.getColumn(0).getString() != "completed") ++unmet;
    }
    known.reset();
    changes.several();
    const std::int64_t seq =
        s.db.execAndGet("SELECT coalesce(max(seq), 0) + 1 FROM tasks").getInt64();
    s.insert_task(seq, task, unmet);
    SQLite::Statement depends(s.db,
                              "INSERT OR IGNORE INTO dependents(dep, task) "
                              "SELECT seq, ?2 FROM tasks WHERE id = ?1");
    for (const std::string& dep : seen) {
      depends.reset();
      depends.bind(1, dep);
      depends.bind(2, seq);
      depends.exec();
    }
  });
}

void SqliteStore::reset() {
  impl_->write([&](Impl::Changes& changes) {
    changes.several();
    impl_->db.exec("DELETE FROM tasks; DELETE FROM dependents;");
    impl_->db.exec(kDeleteCompletionMarks);
    impl_->db.exec("DELETE FROM meta WHERE key IN ('workflow', 'goal')");
  });
}

std::optional<Micros> SqliteStore::next_deadline() {
  return impl_->guarded([&]() -> std::optional<Micros> {
    SQLite::Statement q(impl_->db,
                        "SELECT min(t) FROM ("
                        "SELECT min(lease_expires) AS t FROM tasks INDEXED BY tasks_owner "
                        "WHERE status = 'running' UNION ALL "
                        "SELECT min(retry_at) FROM tasks INDEXED BY tasks_backoff "
                        "WHERE status = 'pending' AND retry_at IS NOT NULL)");
    if (!q.executeStep() || q.getColumn(0).isNull()) return std::nullopt;
    return q.getColumn(0).getInt64();
  });
}

std::optional<Store::CompletionMark> SqliteStore::completion_mark(const std::string& worker_id) {
  auto text = meta(kCompletionMarkPrefix + worker_id);
  if (!text) return std::nullopt;
  return impl_->decoded("the completion mark of ", worker_id, [&] {
    const Json j = parse_json(*text);
    return CompletionMark{j.at("task_id").get<std::string>(), j.at("commit").get<std::string>()};
  });
}

std::exception_ptr SqliteStore::as_error(const SQLite::Exception& e) const {
  try {
    rethrow_as_error(e, impl_->file);
  } catch (...) {
    return std::current_exception();
  }
}

void SqliteStore::begin_batch() {
  impl_->guarded([&] { impl_->begin(); });
}

// No savepoint: each write undoes itself when it fails (Impl::write and Impl::Changes), and a
// mutation's write is its last step (BatchingStore).
std::exception_ptr SqliteStore::run_in_batch(const Mutation& mutation) {
  try {
    mutation(*this);
    return nullptr;
  } catch (...) {
    return std::current_exception();
  }
}

std::exception_ptr SqliteStore::commit_batch() {
  try {
    // Checked before the commit too: a batch committed into files that are no longer the ones
    // at their paths would show in reads although refused, and a replaced database would get it
    // back from the old log at the next start.
    if (impl_->wal) impl_->check_in_place();
    impl_->commit_transaction();
    return nullptr;
  } catch (const SQLite::Exception& e) {
    impl_->undo("ROLLBACK");
    return as_error(e);
  } catch (const Error&) {
    impl_->undo("ROLLBACK");
    return std::current_exception();
  }
}

std::optional<std::string> SqliteStore::meta(const std::string& key) {
  return impl_->guarded([&]() -> std::optional<std::string> {
    SQLite::Statement q(impl_->db, "SELECT value FROM meta WHERE key = ?1");
    q.bind(1, key);
    if (!q.executeStep()) return std::nullopt;
    return q.getColumn(0).getString();
  });
}

void SqliteStore::set_meta(const std::string& key, const std::string& value) {
  impl_->write([&](Impl::Changes&) {  // one change
    SQLite::Statement q(impl_->db, "INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)");
    q.bind(1, key);
    q.bind(2, value);
    q.exec();
  });
}

}  // namespace harness
