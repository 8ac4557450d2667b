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
    "timeout_seconds, instructions, command";

// The claim policy's three candidates (DESIGN §3), each found through a partial index.
const std::string kSelectTask = std::string("SELECT ") + kTaskColumns + " FROM tasks ";
const std::string kTaskHeldBy =
    kSelectTask + "WHERE claimed_by = ?1 AND status = 'running' ORDER BY seq LIMIT 1";
const std::string kFirstReadyTask =
    kSelectTask + "WHERE status = 'pending' AND unmet = 0 ORDER BY seq LIMIT 1";
const std::string kFirstExpiredTask = kSelectTask +
                                      "INDEXED BY tasks_owner WHERE status = 'running' AND "
                                      "lease_expires < ?1 AND unmet = 0 ORDER BY lease_expires "
                                      "LIMIT 1";
// Asked only when a claim finds nothing: with no ready task, the plan is complete unless a task
// is still running (through tasks_owner, which holds exactly the running tasks).
const std::string kAnyRunningTask =
    "SELECT 1 FROM tasks INDEXED BY tasks_owner WHERE status = 'running' LIMIT 1";
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
  std::optional<SQLite::Statement> held_by, first_ready, first_expired, claim_row, task_by_id,
      finish, dependents_of, release_one, any_running;
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
    for (auto* slot : {&held_by, &first_ready, &first_expired, &claim_row, &task_by_id, &finish,
                       &dependents_of, &release_one, &any_running})
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
    });
    task.started_at = optional_int(q.getColumn(5));
    task.completed_at = optional_int(q.getColumn(6));
    task.claimed_by = optional_text(q.getColumn(7));
    task.timeout_seconds = q.getColumn(8).getInt64();
    task.instructions = optional_text(q.getColumn(9));
    return task;
  }

  // Steps `candidate`, a SELECT of the task columns, and gives its task to `worker_id` under a
  // fresh lease from `now`: the task as it is now, or nullopt when the SELECT found none.
  std::optional<Task> take(SQLite::Statement& candidate, const std::string& worker_id, Micros now) {
    if (!candidate.executeStep()) {
      candidate.reset();
      return std::nullopt;
    }
    const std::int64_t seq = candidate.getColumn(0).getInt64();
    Task task = read_task(candidate);
    candidate.reset();
    task.status = TaskStatus::kRunning;
    task.claimed_by = worker_id;
    task.started_at = now;
    task.completed_at.reset();
    auto& update =
        prepared(claim_row,
                 "UPDATE tasks SET status = 'running', claimed_by = ?2, started_at = ?3, "
                 "completed_at = NULL, lease_expires = ?3 + timeout_seconds * 1000000 "
                 "WHERE seq = ?1");
    update.bind(1, seq);
    update.bind(2, worker_id);
    update.bind(3, now);
    update.exec();  // the claim's one change, made last (see Changes)
    return task;
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

  void insert_tasks(const Workflow& workflow) {
    const std::vector<std::int64_t> unmet = unmet_dependency_counts(workflow);
    SQLite::Statement insert(
        db,
        "INSERT INTO tasks(seq, id, description, status, dependencies, started_at, "
        "completed_at, claimed_by, timeout_seconds, instructions, command, unmet, "
        "lease_expires) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)");
    for (std::size_t i = 0; i < workflow.tasks.size(); ++i) {
      const Task& t = workflow.tasks[i];
      insert.reset();
      insert.clearBindings();
      insert.bind(1, static_cast<std::int64_t>(i + 1));
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
      insert.bind(12, unmet[i]);
      // A running task with no start time has no lease left: it is reclaimable at once.
      if (t.status == TaskStatus::kRunning)
        insert.bind(13, t.started_at ? *t.started_at + t.timeout_seconds * kMicrosPerSecond : 0);
      insert.exec();
    }
    insert_dependents(workflow);
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
      if (counts && counts->unfinished())
        throw Error::conflict("The current workflow still has " + std::to_string(counts->pending) +
                              " pending and " + std::to_string(counts->running) +
                              " running tasks; use --force to replace it");
    }
    impl_->db.exec("DELETE FROM tasks; DELETE FROM dependents;");
    impl_->db.exec(kDeleteCompletionMarks);
    impl_->insert_tasks(workflow);
    impl_->db.exec("INSERT OR REPLACE INTO meta(key, value) VALUES('workflow', '1')");
  });
}

// Each step of the claim policy is one indexed SELECT of the candidate task; the winner is
// then updated by its rowid. (UPDATE ... RETURNING would do it in one statement, but SQLite
// gathers RETURNING rows in a temporary b-tree that it builds and frees on every run, even
// when no row matches: that cost more than the second statement.)
ClaimResult SqliteStore::claim(const std::string& worker_id, Micros now) {
  return impl_->write([&](Impl::Changes&) {  // one change: take()'s UPDATE
    Impl& s = *impl_;
    ClaimResult result;
    auto& held = s.prepared(s.held_by, kTaskHeldBy);
    held.bind(1, worker_id);
    if ((result.task = s.take(held, worker_id, now))) {
      result.is_retry = true;
      return result;
    }
    auto& ready = s.prepared(s.first_ready, kFirstReadyTask);
    if ((result.task = s.take(ready, worker_id, now))) return result;
    auto& expired = s.prepared(s.first_expired, kFirstExpiredTask);
    expired.bind(1, now);
    result.task = s.take(expired, worker_id, now);
    result.is_reclaim = result.task.has_value();
    if (!result.task) {
      result.plan_complete = !s.prepared(s.any_running, kAnyRunningTask).executeStep();
    }
    return result;
  });
}

void SqliteStore::complete(const std::string& task_id, const std::string& worker_id, Micros now,
                           const std::optional<std::string>& head_commit) {
  impl_->write([&](Impl::Changes& changes) {
    Impl& s = *impl_;
    auto& find =
        s.prepared(s.task_by_id, "SELECT seq, status, claimed_by FROM tasks WHERE id = ?1");
    find.bind(1, task_id);
    if (!find.executeStep()) throw Error::not_found("Task " + task_id + " not found");
    const std::int64_t seq = find.getColumn(0).getInt64();
    const TaskStatus status = s.decoded(
        "task ", task_id, [&] { return parse_task_status(find.getColumn(1).getString()); });
    const bool owned = !find.getColumn(2).isNull() && find.getColumn(2).getString() == worker_id;
    find.reset();
    if (status == TaskStatus::kCompleted)
      throw Error::conflict("Task " + task_id + " is already completed");
    if (status != TaskStatus::kRunning || !owned)
      throw Error::conflict("Task " + task_id + " is not claimed by " + worker_id);
    const std::optional<std::string> mark =
        head_commit ? std::optional(json_text(Json{{"task_id", task_id}, {"commit", *head_commit}},
                                              "the commit completing task ", task_id))
                    : std::nullopt;
    const std::vector<std::int64_t> released = s.dependents_of_task(seq);
    if (!released.empty() || mark) changes.several();
    auto& finish = s.prepared(s.finish,
                              "UPDATE tasks SET status = 'completed', completed_at = ?2, "
                              "lease_expires = NULL WHERE seq = ?1");
    finish.bind(1, seq);
    finish.bind(2, now);
    finish.exec();
    s.release(released);
    if (mark) set_meta(kCompletionMarkPrefix + worker_id, *mark);
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
