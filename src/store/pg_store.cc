#include "store/pg_store.h"

#include <algorithm>
#include <chrono>
#include <unordered_map>

#include "core/error.h"
#include "store/pg_connection.h"
#include "store/pg_schema.h"
#include "store/store_rules.h"

namespace harness {

namespace {

using SteadyClock = std::chrono::steady_clock;

// The pause before the next attempt to reach a server that could not be reached grows from the
// first to the last, doubling.
constexpr std::chrono::milliseconds kFirstReconnectPause{50};
constexpr std::chrono::milliseconds kLastReconnectPause{1000};
// Rows of a plan written by one INSERT: each is kTaskParams parameters, and a statement takes
// at most 65535.
constexpr std::size_t kInsertChunk = 1000;

constexpr const char* kTaskColumns =
    "seq, id, description, status, dependencies, started_at, completed_at, claimed_by, "
    "timeout_seconds, instructions, command, priority, role, max_attempts, retry_backoff, "
    "attempts, last_error, lease_expires, retry_at, packet, lease, worktree";
enum TaskColumn { kSeq = 0, kLease = 20 };

// Whether a statement that locks a row may wait for it (Impl::write).
enum class Wait { kYes, kNo };

std::string locking(Wait wait) { return wait == Wait::kYes ? " FOR UPDATE" : " FOR UPDATE NOWAIT"; }

const std::string kSelectTask = std::string("SELECT ") + kTaskColumns + " FROM harness_tasks ";
// The claim policy's candidates, as in SQLite's engine (store/sqlite_store.cc), through the
// same partial indexes; each skips rows another transaction holds.
const std::string kTaskHeldBy = kSelectTask +
                                "WHERE plan = $1 AND claimed_by = $2 AND status = 'running' "
                                "ORDER BY seq LIMIT 1";
const std::string kFirstReadyTask =
    kSelectTask +
    "WHERE plan = $1 AND status = 'pending' AND unmet = 0 AND retry_at IS NULL AND "
    "(role IS NOT NULL) = $2 ORDER BY plan, (role IS NOT NULL), priority DESC, seq LIMIT 1 "
    "FOR UPDATE SKIP LOCKED";
const std::string kFirstReadyTaskOfRole =
    kSelectTask +
    "WHERE plan = $1 AND status = 'pending' AND unmet = 0 AND retry_at IS NULL AND "
    "role IS NOT NULL AND role = $2 ORDER BY plan, role, priority DESC, seq LIMIT 1 "
    "FOR UPDATE SKIP LOCKED";
const std::string kFirstExpiredTask =
    kSelectTask +
    "WHERE plan = $1 AND status = 'running' AND lease_expires < $2 AND unmet = 0 AND "
    "($3::text IS NULL OR role IS NULL OR role = $3) ORDER BY plan, lease_expires LIMIT 1 "
    "FOR UPDATE SKIP LOCKED";
// Backoffs that ended rejoin the ready tasks; a row another daemon holds is left to it.
constexpr const char* kEndBackoffs =
    "UPDATE harness_tasks SET retry_at = NULL WHERE plan = $1 AND seq IN (SELECT seq FROM "
    "harness_tasks WHERE plan = $1 AND status = 'pending' AND retry_at IS NOT NULL AND "
    "retry_at <= $2 FOR UPDATE SKIP LOCKED)";
constexpr const char* kPlanComplete =
    "SELECT NOT EXISTS (SELECT 1 FROM harness_tasks WHERE plan = $1 AND status = 'running') "
    "AND NOT EXISTS (SELECT 1 FROM harness_tasks WHERE plan = $1 AND status = 'pending' AND "
    "unmet = 0 AND retry_at IS NULL) AND NOT EXISTS (SELECT 1 FROM harness_tasks WHERE "
    "plan = $1 AND status = 'pending' AND retry_at IS NOT NULL)";
constexpr const char* kTake =
    "UPDATE harness_tasks SET status = 'running', claimed_by = $3, started_at = $4, "
    "completed_at = NULL, lease_expires = $4 + timeout_seconds * 1000000, retry_at = NULL, "
    "lease = lease + 1, attempts = attempts + $5, worktree = $6 WHERE plan = $1 AND seq = $2";
constexpr const char* kRenew =
    "UPDATE harness_tasks SET started_at = $3, lease_expires = $3 + timeout_seconds * 1000000, "
    "worktree = COALESCE($4, worktree) WHERE plan = $1 AND seq = $2";
constexpr const char* kRowColumns =
    "SELECT seq, status, claimed_by, lease, attempts, max_attempts, retry_backoff, "
    "timeout_seconds, retry_at, (packet::json -> 'verification_commands')::text FROM "
    "harness_tasks WHERE plan = $1 AND id = $2";
constexpr const char* kFinish =
    "UPDATE harness_tasks SET status = 'completed', completed_at = $3, lease_expires = NULL, "
    "retry_at = NULL WHERE plan = $1 AND seq = $2";
constexpr const char* kLockDependents =
    "SELECT seq FROM harness_tasks WHERE plan = $1 AND seq IN (SELECT task FROM "
    "harness_dependents WHERE plan = $1 AND dep = $2) ORDER BY seq";
constexpr const char* kReleaseDependents =
    "UPDATE harness_tasks SET unmet = unmet - 1 WHERE plan = $1 AND seq IN (SELECT task FROM "
    "harness_dependents WHERE plan = $1 AND dep = $2)";
constexpr const char* kSetCompletionMark =
    "INSERT INTO harness_completion_marks(plan, worker, task_id, commit) VALUES($1, $2, $3, $4) "
    "ON CONFLICT (plan, worker) DO UPDATE SET task_id = excluded.task_id, commit = "
    "excluded.commit";
constexpr const char* kTaskInsertColumns =
    "INSERT INTO harness_tasks(plan, seq, id, description, status, dependencies, started_at, "
    "completed_at, claimed_by, timeout_seconds, instructions, command, unmet, lease_expires, "
    "priority, role, max_attempts, retry_backoff, attempts, last_error, retry_at, packet, lease, "
    "worktree) VALUES ";
constexpr std::size_t kTaskParams = 24;

std::vector<std::string> string_list(std::string_view json_text) {
  return Json::parse(json_text).get<std::vector<std::string>>();
}

std::string json_text(const Json& value, std::string_view what, std::string_view whose) {
  try {
    return value.dump();
  } catch (const Json::exception& e) {
    throw Error::invalid(std::string(what) + std::string(whose) + " cannot be stored: " + e.what());
  }
}

// The parameters of one row of kTaskInsertColumns: task `t` of plan `plan` at `seq`, with
// `unmet` dependencies not completed.
void add_task_params(std::vector<PgParam>& params, std::int64_t plan, std::int64_t seq,
                     const Task& t, std::int64_t unmet) {
  std::optional<std::int64_t> lease_expires;
  // A running task with no start time has no lease left: it is reclaimable at once.
  if (t.status == TaskStatus::kRunning)
    lease_expires = t.lease_expires_at.value_or(
        t.started_at ? *t.started_at + t.timeout_seconds * kMicrosPerSecond : 0);
  std::optional<std::string> command, packet;
  if (t.command) command = json_text(Json(*t.command), "the command of task ", t.id);
  if (!t.packet.empty()) packet = json_text(packet_to_json(*t.packet), "the packet of task ", t.id);
  const std::optional<std::int64_t> retry_at =
      t.status == TaskStatus::kPending ? t.retry_at : std::nullopt;
  for (PgParam p : {PgParam(plan),
                    PgParam(seq),
                    PgParam(t.id),
                    PgParam(t.description),
                    PgParam(to_string(t.status)),
                    PgParam(json_text(Json(t.dependencies), "the dependencies of task ", t.id)),
                    PgParam(t.started_at),
                    PgParam(t.completed_at),
                    PgParam(t.claimed_by),
                    PgParam(t.timeout_seconds),
                    PgParam(t.instructions),
                    PgParam(command),
                    PgParam(unmet),
                    PgParam(lease_expires),
                    PgParam(t.priority),
                    PgParam(t.role),
                    PgParam(t.max_attempts),
                    PgParam(t.retry_backoff_seconds),
                    PgParam(t.attempts),
                    PgParam(t.last_error),
                    PgParam(retry_at),
                    PgParam(packet),
                    PgParam(random_lease_start()),
                    PgParam(t.worktree)})
    params.push_back(std::move(p));
}

// "($1, ..., $n), (...)": the VALUES of `rows` rows of `columns` parameters.
std::string values_list(std::size_t rows, std::size_t columns) {
  std::string sql;
  std::size_t n = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    sql += r ? ", (" : "(";
    for (std::size_t c = 0; c < columns; ++c) sql += (c ? ", $" : "$") + std::to_string(++n);
    sql += ')';
  }
  return sql;
}

}  // namespace

struct PgStore::Impl {
  PgTarget target;
  Access access;
  std::optional<PgConnection> conn;
  std::optional<std::int64_t> plan;  // the plan's row; a read-only store may find none yet
  bool in_transaction = false;
  bool in_batch = false;          // the open transaction is a batch's: it commits without a flush
  int writes_in_transaction = 0;  // writes done in the open transaction (write())
  bool notify = false;            // the open transaction may have made work ready
  // Reaching the server again after it was lost.
  SteadyClock::time_point next_connect{};
  std::chrono::milliseconds pause{0};
  std::string last_failure;
  // sync()'s own, used only on the thread that syncs.
  std::optional<PgConnection> flush_conn;

  Impl(PgTarget t, Access a) : target(std::move(t)), access(a) {
    if (target.plan.empty()) throw Error::invalid("a PostgreSQL store needs a plan name");
    connect();
  }

  // --- The connection --------------------------------------------------------------------

  void connect() {
    if (conn)
      conn->reconnect();
    else
      conn.emplace(target.url);
    conn->exec("SET lock_timeout = '10s'");
    if (access == Access::kReadOnly) {
      conn->exec("SET default_transaction_read_only = on");
      if (has_current_pg_schema(*conn)) plan = find_plan();
      return;
    }
    migrate_pg_schema(*conn);
    conn->run("INSERT INTO harness_plans(name) VALUES($1) ON CONFLICT (name) DO NOTHING",
              {target.plan});
    plan = find_plan();
  }

  std::optional<std::int64_t> find_plan() {
    PgResult found = conn->run("SELECT id FROM harness_plans WHERE name = $1", {target.plan});
    if (found.rows() == 0) return std::nullopt;
    return found.int64(0, 0);
  }

  // The connection, made again if it was lost (not more often than the pause allows).
  PgConnection& connection() {
    if (conn && conn->healthy()) return *conn;
    if (in_transaction)
      throw Error::io("PostgreSQL at " + conn->where() + " went away during a transaction");
    const SteadyClock::time_point now = SteadyClock::now();
    if (now < next_connect)
      throw Error::io(
          last_failure + " (trying again in " +
          std::to_string(
              std::chrono::duration_cast<std::chrono::milliseconds>(next_connect - now).count()) +
          " ms)");
    try {
      connect();
      pause = std::chrono::milliseconds(0);
    } catch (const Error& e) {
      last_failure = e.what();
      pause = std::clamp(pause * 2, kFirstReconnectPause, kLastReconnectPause);
      next_connect = now + pause;
      throw;
    }
    return *conn;
  }

  PgResult run(const std::string& sql, std::initializer_list<PgParam> params) {
    return connection().run(sql, params);
  }

  // The plan's id; a read-only store looks again for a plan it did not find.
  std::optional<std::int64_t> plan_id() {
    if (!plan && access == Access::kReadOnly) {
      PgConnection& c = connection();
      if (has_current_pg_schema(c)) plan = find_plan();
    }
    return plan;
  }

  // --- Transactions ----------------------------------------------------------------------

  void begin(const char* sql = "BEGIN") {
    try {
      connection().exec(sql);
    } catch (const PgError& e) {
      // A server that restarted since the last statement: nothing was done yet, so the
      // connection is made again at once, once.
      if (e.reason() != PgError::Reason::kConnection) throw;
      conn.reset();
      connection().exec(sql);
    }
    in_transaction = true;
    writes_in_transaction = 0;
    notify = false;
  }

  // A batch's transaction: its commit does not wait for the WAL flush; sync() does.
  void begin_batch_transaction() {
    begin("BEGIN; SET LOCAL synchronous_commit TO off");
    in_batch = true;
  }

  void commit() {
    if (notify) conn->run("SELECT pg_notify($1, '')", {channel()});
    notify = false;
    in_transaction = false;
    in_batch = false;
    // A transaction a failed statement aborted answers COMMIT with ROLLBACK, not an error.
    if (conn->exec("COMMIT").command_tag() != "COMMIT")
      throw Error::io("PostgreSQL at " + conn->where() + " rolled the transaction back");
  }

  void rollback() {
    in_transaction = false;
    in_batch = false;
    notify = false;
    undo("ROLLBACK");
  }

  void undo(const char* sql) {
    try {
      if (conn && conn->healthy()) conn->exec(sql);
    } catch (const Error&) {
      // The transaction is gone with the connection.
    }
  }

  std::string channel() const { return "harness_plan_" + std::to_string(plan.value_or(0)); }

  void require_writable() const {
    if (access == Access::kReadOnly) throw Error::invalid("this store was opened read-only");
  }

  // Runs `body(Wait)` atomically: in a transaction of its own at top level, under a savepoint
  // inside a batch's. Inside a batch whose transaction already holds row locks, the body may
  // not wait for a row (two daemons' batches could wait for each other): when a row is busy,
  // what the transaction did so far is committed and the body runs again in a fresh one,
  // where it may wait.
  template <typename Body>
  auto write(Body&& body) -> decltype(body(Wait::kYes)) {
    require_writable();
    if (!in_transaction) return top_level_write(body);
    for (;;) {
      const Wait wait = writes_in_transaction == 0 ? Wait::kYes : Wait::kNo;
      conn->exec("SAVEPOINT harness_write");
      try {
        if constexpr (std::is_void_v<decltype(body(wait))>) {
          body(wait);
          conn->exec("RELEASE SAVEPOINT harness_write");
          ++writes_in_transaction;
          return;
        } else {
          auto result = body(wait);
          conn->exec("RELEASE SAVEPOINT harness_write");
          ++writes_in_transaction;
          return result;
        }
      } catch (const PgError& e) {
        undo("ROLLBACK TO SAVEPOINT harness_write; RELEASE SAVEPOINT harness_write");
        if (e.reason() != PgError::Reason::kLockBusy || wait == Wait::kYes) throw;
      } catch (...) {
        undo("ROLLBACK TO SAVEPOINT harness_write; RELEASE SAVEPOINT harness_write");
        throw;
      }
      const bool batch = in_batch;
      commit();
      if (batch)
        begin_batch_transaction();
      else
        begin();
    }
  }

  template <typename Body>
  auto top_level_write(Body& body) -> decltype(body(Wait::kYes)) {
    begin();
    try {
      if constexpr (std::is_void_v<decltype(body(Wait::kYes))>) {
        body(Wait::kYes);
        commit();
      } else {
        auto result = body(Wait::kYes);
        commit();
        return result;
      }
    } catch (...) {
      rollback();
      throw;
    }
  }

  // A read: one consistent snapshot of its statements; inside a transaction, under a
  // savepoint, so that a failed read leaves the transaction usable.
  template <typename Body>
  auto read(Body&& body) -> decltype(body()) {
    if (in_transaction) {
      conn->exec("SAVEPOINT harness_read");
      try {
        auto result = body();
        conn->exec("RELEASE SAVEPOINT harness_read");
        return result;
      } catch (...) {
        undo("ROLLBACK TO SAVEPOINT harness_read; RELEASE SAVEPOINT harness_read");
        throw;
      }
    }
    begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    try {
      auto result = body();
      commit();
      return result;
    } catch (...) {
      rollback();
      throw;
    }
  }

  // --- Rows --------------------------------------------------------------------------------

  template <typename Decode>
  auto decoded(std::string_view what, std::string_view whose, Decode&& decode) {
    try {
      return decode();
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Error::corruption("the PostgreSQL plan " + target.plan + " is damaged: " +
                              std::string(what) + std::string(whose) + ": " + e.what());
    }
  }

  Task read_task(const PgResult& r, int row) {
    Task task;
    task.id = r.text(row, 1);
    task.description = r.text(row, 2);
    decoded("task ", task.id, [&] {
      task.status = parse_task_status(r.text(row, 3));
      task.dependencies = string_list(r.text(row, 4));
      if (!r.is_null(row, 10)) task.command = string_list(r.text(row, 10));
      if (!r.is_null(row, 19))
        task.packet = packet_from_json(Json::parse(r.text(row, 19)), task.id);
    });
    task.started_at = r.optional_int64(row, 5);
    task.completed_at = r.optional_int64(row, 6);
    task.claimed_by = r.optional_text(row, 7);
    task.timeout_seconds = r.int64(row, 8);
    task.instructions = r.optional_text(row, 9);
    task.priority = r.int64(row, 11);
    task.role = r.optional_text(row, 12);
    task.max_attempts = r.int64(row, 13);
    task.retry_backoff_seconds = r.int64(row, 14);
    task.attempts = r.int64(row, 15);
    task.last_error = r.optional_text(row, 16);
    if (task.status == TaskStatus::kRunning) task.lease_expires_at = r.optional_int64(row, 17);
    task.retry_at = r.optional_int64(row, 18);
    task.worktree = r.optional_text(row, 21);
    return task;
  }

  struct Candidate {
    Task task;
    std::int64_t seq = 0;
    std::int64_t lease = 0;
  };

  std::optional<Candidate> first(const PgResult& r) {
    if (r.rows() == 0) return std::nullopt;
    return Candidate{read_task(r, 0), r.int64(0, kSeq), r.int64(0, kLease)};
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

  // The row of `task_id`, locked; Error::not_found when there is none.
  Row row_of(const std::string& task_id, Wait wait) {
    PgResult r = run(kRowColumns + locking(wait), {*plan, task_id});
    if (r.rows() == 0) throw task_not_found(task_id);
    Row row;
    row.seq = r.int64(0, 0);
    row.status = decoded("task ", task_id, [&] { return parse_task_status(r.text(0, 1)); });
    row.claimed_by = r.optional_text(0, 2);
    row.lease = r.int64(0, 3);
    row.attempts = r.int64(0, 4);
    row.max_attempts = r.int64(0, 5);
    row.retry_backoff = r.int64(0, 6);
    row.timeout_seconds = r.int64(0, 7);
    row.retry_at = r.optional_int64(0, 8);
    row.verification = r.optional_text(0, 9);
    return row;
  }

  Row held_row(const std::string& task_id, const Holder& holder, Wait wait) {
    Row row = row_of(task_id, wait);
    check_holder(task_id, holder, HeldState{row.status, row.claimed_by, row.lease});
    return row;
  }

  // --- Claims ------------------------------------------------------------------------------

  ClaimResult take(Candidate c, const std::string& worker_id, Micros now, bool expired_attempt,
                   const std::optional<std::string>& worktree) {
    run(kTake, {*plan, c.seq, worker_id, now, expired_attempt ? 1 : 0, worktree});
    Task& task = c.task;
    task.status = TaskStatus::kRunning;
    task.claimed_by = worker_id;
    task.started_at = now;
    task.completed_at.reset();
    task.retry_at.reset();
    task.lease_expires_at = now + task.timeout_seconds * kMicrosPerSecond;
    if (expired_attempt) ++task.attempts;
    task.worktree = worktree;
    ClaimResult result;
    result.lease = lease_token(c.lease + 1);
    result.attempt = task.attempts + 1;
    result.task = std::move(task);
    return result;
  }

  ClaimResult renew(Candidate c, Micros now, const std::optional<std::string>& worktree) {
    run(kRenew, {*plan, c.seq, now, worktree});
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

  static std::optional<Candidate> better(std::optional<Candidate> a, std::optional<Candidate> b) {
    if (!a || !b) return a ? std::move(a) : std::move(b);
    const bool a_first = a->task.priority != b->task.priority ? a->task.priority > b->task.priority
                                                              : a->seq < b->seq;
    return a_first ? std::move(a) : std::move(b);
  }

  // The ready task a worker with `filter` takes. Both candidates are locked until the
  // transaction ends; the one not taken is skipped by other daemons meanwhile, which only
  // reorders work that was ready at the same moment.
  std::optional<Candidate> first_ready_task(const ClaimFilter& filter) {
    std::optional<Candidate> without_role = first(run(kFirstReadyTask, {*plan, false}));
    if (!filter.role)
      return better(std::move(without_role), first(run(kFirstReadyTask, {*plan, true})));
    return better(std::move(without_role),
                  first(run(kFirstReadyTaskOfRole, {*plan, *filter.role})));
  }

  // Ends an attempt that did not complete (store_rules.h end_of_attempt).
  FailResult end_attempt(std::int64_t seq, std::int64_t attempts, std::int64_t max_attempts,
                         std::int64_t retry_backoff, const std::string& reason, Micros now) {
    const FailResult result = end_of_attempt(attempts, max_attempts, retry_backoff, now);
    if (result.status == TaskStatus::kFailed) {
      run("UPDATE harness_tasks SET status = 'failed', attempts = $3, last_error = $4, "
          "lease_expires = NULL, retry_at = NULL WHERE plan = $1 AND seq = $2",
          {*plan, seq, result.attempt, reason});
    } else {
      run("UPDATE harness_tasks SET status = 'pending', claimed_by = NULL, worktree = NULL, "
          "started_at = NULL, lease_expires = NULL, attempts = $3, last_error = $4, retry_at = $5 "
          "WHERE plan = $1 AND seq = $2",
          {*plan, seq, result.attempt, reason, result.retry_at});
      notify = true;
    }
    return result;
  }

  std::optional<ClaimResult> take_expired(Candidate c, const std::string& worker_id, Micros now,
                                          const std::optional<std::string>& worktree,
                                          std::vector<Task>& failed) {
    if (c.task.attempts + 1 < c.task.max_attempts) {
      ClaimResult result = take(std::move(c), worker_id, now, true, worktree);
      result.is_reclaim = true;
      result.failed_on_expiry = std::move(failed);
      return result;
    }
    Task& task = c.task;
    const std::string reason =
        expired_lease_reason(task.claimed_by, task.attempts + 1, task.max_attempts);
    end_attempt(c.seq, task.attempts, task.max_attempts, task.retry_backoff_seconds, reason, now);
    task.status = TaskStatus::kFailed;
    task.attempts += 1;
    task.last_error = reason;
    task.lease_expires_at.reset();
    failed.push_back(std::move(task));
    return std::nullopt;
  }

  ClaimResult reclaim(const std::string& worker_id, Micros now, const ClaimFilter& filter,
                      const std::optional<std::string>& worktree, std::vector<Task>& failed) {
    for (;;) {
      std::optional<Candidate> c = first(run(kFirstExpiredTask, {*plan, now, filter.role}));
      if (!c) break;
      if (auto taken = take_expired(std::move(*c), worker_id, now, worktree, failed)) return *taken;
    }
    ClaimResult result;
    result.failed_on_expiry = std::move(failed);
    result.plan_complete = run(kPlanComplete, {*plan}).text(0, 0) == "t";
    return result;
  }

  // --- Plans -------------------------------------------------------------------------------

  // Locks the plan's row: changes to the plan's shape (its tasks, its workflow) are made one
  // at a time across daemons. Returns whether a workflow exists.
  bool lock_plan() {
    return run("SELECT workflow FROM harness_plans WHERE id = $1 FOR UPDATE", {*plan}).text(0, 0) ==
           "t";
  }

  void delete_tasks() {
    for (const char* table : {"harness_dependents", "harness_completion_marks", "harness_tasks"})
      run(std::string("DELETE FROM ") + table + " WHERE plan = $1", {*plan});
  }

  void insert_tasks(const Workflow& workflow) {
    const std::vector<std::int64_t> unmet = unmet_dependency_counts(workflow);
    for (std::size_t from = 0; from < workflow.tasks.size(); from += kInsertChunk) {
      const std::size_t n = std::min(kInsertChunk, workflow.tasks.size() - from);
      std::vector<PgParam> params;
      params.reserve(n * kTaskParams);
      for (std::size_t i = from; i < from + n; ++i)
        add_task_params(params, *plan, static_cast<std::int64_t>(i + 1), workflow.tasks[i],
                        unmet[i]);
      conn->run_once(kTaskInsertColumns + values_list(n, kTaskParams), params);
    }
    insert_dependents(workflow);
  }

  void insert_dependents(const Workflow& workflow) {
    std::unordered_map<std::string_view, std::int64_t> seq_of;
    seq_of.reserve(workflow.tasks.size());
    for (std::size_t i = 0; i < workflow.tasks.size(); ++i)
      seq_of.emplace(workflow.tasks[i].id, i + 1);
    std::vector<PgParam> params;
    const auto flush = [&] {
      if (params.empty()) return;
      conn->run_once("INSERT INTO harness_dependents(plan, dep, task) VALUES " +
                         values_list(params.size() / 3, 3) + " ON CONFLICT DO NOTHING",
                     params);
      params.clear();
    };
    for (std::size_t i = 0; i < workflow.tasks.size(); ++i) {
      for (const std::string& dep : workflow.tasks[i].dependencies) {
        for (PgParam p :
             {PgParam(*plan), PgParam(seq_of.at(dep)), PgParam(static_cast<std::int64_t>(i + 1))})
          params.push_back(std::move(p));
        if (params.size() >= kInsertChunk * 3) flush();
      }
    }
    flush();
  }

  std::optional<StatusCounts> counts() {
    if (!plan_id()) return std::nullopt;
    PgResult flag = run("SELECT workflow FROM harness_plans WHERE id = $1", {*plan});
    if (flag.rows() == 0 || flag.text(0, 0) != "t") return std::nullopt;
    PgResult r = run(
        "SELECT status, count(*), count(*) FILTER (WHERE status = 'pending' AND unmet = 0) FROM "
        "harness_tasks WHERE plan = $1 GROUP BY status",
        {*plan});
    StatusCounts counts;
    for (int i = 0; i < r.rows(); ++i) {
      const TaskStatus status =
          decoded("a task's status", "", [&] { return parse_task_status(r.text(i, 0)); });
      counts.add(status, r.int64(i, 1));
      counts.ready += r.int64(i, 2);
    }
    return counts;
  }
};

PgStore::PgStore(PgTarget target, Access access)
    : impl_(std::make_unique<Impl>(std::move(target), access)) {}

PgStore::~PgStore() = default;

const PgTarget& PgStore::target() const { return impl_->target; }

std::string PgStore::change_channel() const { return impl_->channel(); }

std::optional<Workflow> PgStore::load() {
  return impl_->read([&]() -> std::optional<Workflow> {
    Impl& s = *impl_;
    if (!s.plan_id()) return std::nullopt;
    PgResult plan = s.run("SELECT workflow, goal FROM harness_plans WHERE id = $1", {*s.plan});
    if (plan.rows() == 0 || plan.text(0, 0) != "t") return std::nullopt;
    Workflow workflow;
    workflow.goal = plan.optional_text(0, 1);
    PgResult tasks = s.run(kSelectTask + "WHERE plan = $1 ORDER BY seq", {*s.plan});
    workflow.tasks.reserve(tasks.rows());
    for (int i = 0; i < tasks.rows(); ++i) workflow.tasks.push_back(s.read_task(tasks, i));
    return workflow;
  });
}

std::optional<StatusCounts> PgStore::status_counts() {
  return impl_->read([&] { return impl_->counts(); });
}

void PgStore::replace_workflow(const Workflow& workflow, ReplaceMode mode) {
  validate_workflow(workflow);
  impl_->write([&](Wait) {
    Impl& s = *impl_;
    s.lock_plan();
    if (mode == ReplaceMode::kUnlessUnfinished) {
      auto counts = s.counts();
      if (counts && counts->unfinished()) throw unfinished_workflow(*counts);
    }
    s.delete_tasks();
    s.insert_tasks(workflow);
    s.run("UPDATE harness_plans SET workflow = true, goal = $2 WHERE id = $1",
          {*s.plan, workflow.goal});
    s.notify = true;
  });
}

ClaimResult PgStore::claim(const std::string& worker_id, Micros now, const ClaimFilter& filter,
                           const std::optional<std::string>& worktree) {
  return impl_->write([&](Wait wait) {
    Impl& s = *impl_;
    std::vector<Task> failed;
    if (auto mine = s.first(s.run(kTaskHeldBy + locking(wait), {*s.plan, worker_id}))) {
      if (mine->task.lease_expires_at >= now) return s.renew(std::move(*mine), now, worktree);
      if (auto taken = s.take_expired(std::move(*mine), worker_id, now, worktree, failed))
        return *taken;
    }
    s.run(kEndBackoffs, {*s.plan, now});
    if (auto ready = s.first_ready_task(filter)) {
      ClaimResult result = s.take(std::move(*ready), worker_id, now, false, worktree);
      result.failed_on_expiry = std::move(failed);
      return result;
    }
    return s.reclaim(worker_id, now, filter, worktree, failed);
  });
}

std::optional<VerificationCommands> PgStore::complete(const std::string& task_id,
                                                      const Holder& holder, Micros now,
                                                      const std::optional<std::string>& head_commit,
                                                      const CompleteOptions& options) {
  return impl_->write([&](Wait wait) -> std::optional<VerificationCommands> {
    Impl& s = *impl_;
    const Impl::Row row =
        options.force ? s.row_of(task_id, wait) : s.held_row(task_id, holder, wait);
    if (row.status == TaskStatus::kCompleted) throw already_completed(task_id);
    if (options.verify && row.verification) {
      return s.decoded("the verification commands of task ", task_id,
                       [&] { return Json::parse(*row.verification).get<VerificationCommands>(); });
    }
    // The dependents' rows are locked in plan order, so that completions of two of their
    // dependencies on two daemons queue instead of deadlocking.
    if (s.run(kLockDependents + locking(wait), {*s.plan, row.seq}).rows() > 0)
      s.run(kReleaseDependents, {*s.plan, row.seq});
    s.run(kFinish, {*s.plan, row.seq, now});
    if (head_commit) s.run(kSetCompletionMark, {*s.plan, holder.worker_id, task_id, *head_commit});
    s.notify = true;
    return std::nullopt;
  });
}

Micros PgStore::heartbeat(const std::string& task_id, const Holder& holder, Micros now) {
  return impl_->write([&](Wait wait) {
    Impl& s = *impl_;
    const Impl::Row row = s.held_row(task_id, holder, wait);
    const Micros expires = now + row.timeout_seconds * kMicrosPerSecond;
    s.run("UPDATE harness_tasks SET lease_expires = $3 WHERE plan = $1 AND seq = $2",
          {*s.plan, row.seq, expires});
    return expires;
  });
}

void PgStore::release(const std::string& task_id, const Holder& holder) {
  impl_->write([&](Wait wait) {
    Impl& s = *impl_;
    const Impl::Row row = s.held_row(task_id, holder, wait);
    s.run(
        "UPDATE harness_tasks SET status = 'pending', claimed_by = NULL, worktree = NULL, "
        "started_at = NULL, lease_expires = NULL WHERE plan = $1 AND seq = $2",
        {*s.plan, row.seq});
    s.notify = true;
  });
}

FailResult PgStore::fail(const std::string& task_id, const Holder& holder,
                         const std::string& reason, Micros now) {
  return impl_->write([&](Wait wait) {
    Impl& s = *impl_;
    const Impl::Row row = s.held_row(task_id, holder, wait);
    return s.end_attempt(row.seq, row.attempts, row.max_attempts, row.retry_backoff, reason, now);
  });
}

void PgStore::retry(const std::string& task_id) {
  impl_->write([&](Wait wait) {
    Impl& s = *impl_;
    const Impl::Row row = s.row_of(task_id, wait);
    const bool backing_off = row.status == TaskStatus::kPending && row.retry_at;
    if (row.status != TaskStatus::kFailed && !backing_off) throw not_retryable(task_id, row.status);
    s.run(
        "UPDATE harness_tasks SET status = 'pending', claimed_by = NULL, worktree = NULL, "
        "started_at = NULL, lease_expires = NULL, retry_at = NULL, attempts = 0 WHERE plan = $1 "
        "AND seq = $2",
        {*s.plan, row.seq});
    s.notify = true;
  });
}

std::int64_t PgStore::renew_leases(const std::string& worker_id, Micros now) {
  return impl_->write([&](Wait wait) -> std::int64_t {
    Impl& s = *impl_;
    const std::string mine = "WHERE plan = $1 AND claimed_by = $2 AND status = 'running'";
    if (s.run("SELECT seq FROM harness_tasks " + mine + locking(wait), {*s.plan, worker_id})
            .rows() == 0)
      return 0;
    return s
        .run("UPDATE harness_tasks SET lease_expires = $3 + timeout_seconds * 1000000 " + mine,
             {*s.plan, worker_id, now})
        .affected();
  });
}

void PgStore::add_task(const Task& task) {
  impl_->write([&](Wait) {
    Impl& s = *impl_;
    if (!s.lock_plan()) throw no_workflow();
    if (task.status != TaskStatus::kPending) throw added_not_pending(task.id);
    const std::string status_of = "SELECT status FROM harness_tasks WHERE plan = $1 AND id = $2";
    if (s.run(status_of, {*s.plan, task.id}).rows() > 0) throw duplicate_task(task.id);
    std::int64_t unmet = 0;
    std::vector<std::string> seen;
    for (const std::string& dep : task.dependencies) {
      if (std::find(seen.begin(), seen.end(), dep) != seen.end()) continue;
      seen.push_back(dep);
      PgResult known = s.run(status_of, {*s.plan, dep});
      if (known.rows() == 0) throw missing_dependency(dep, task.id);
      if (known.text(0, 0) != "completed") ++unmet;
    }
    const std::int64_t seq =
        s.run("SELECT coalesce(max(seq), 0) + 1 FROM harness_tasks WHERE plan = $1", {*s.plan})
            .int64(0, 0);
    std::vector<PgParam> params;
    add_task_params(params, *s.plan, seq, task, unmet);
    s.conn->run_once(kTaskInsertColumns + values_list(1, kTaskParams), params);
    for (const std::string& dep : seen)
      s.run(
          "INSERT INTO harness_dependents(plan, dep, task) SELECT $1, seq, $3 FROM "
          "harness_tasks WHERE plan = $1 AND id = $2 ON CONFLICT DO NOTHING",
          {*s.plan, dep, seq});
    s.notify = true;
  });
}

void PgStore::reset() {
  impl_->write([&](Wait) {
    Impl& s = *impl_;
    s.lock_plan();
    s.delete_tasks();
    s.run("UPDATE harness_plans SET workflow = false, goal = NULL WHERE id = $1", {*s.plan});
    s.notify = true;
  });
}

std::optional<Micros> PgStore::next_deadline() {
  return impl_->read([&]() -> std::optional<Micros> {
    Impl& s = *impl_;
    if (!s.plan_id()) return std::nullopt;
    return s
        .run(
            "SELECT least((SELECT min(lease_expires) FROM harness_tasks WHERE plan = $1 AND "
            "status = 'running'), (SELECT min(retry_at) FROM harness_tasks WHERE plan = $1 AND "
            "status = 'pending' AND retry_at IS NOT NULL))",
            {*s.plan})
        .optional_int64(0, 0);
  });
}

std::optional<Store::CompletionMark> PgStore::completion_mark(const std::string& worker_id) {
  return impl_->read([&]() -> std::optional<CompletionMark> {
    Impl& s = *impl_;
    if (!s.plan_id()) return std::nullopt;
    PgResult r = s.run(
        "SELECT task_id, commit FROM harness_completion_marks WHERE plan = $1 AND worker = $2",
        {*s.plan, worker_id});
    if (r.rows() == 0) return std::nullopt;
    return CompletionMark{std::string(r.text(0, 0)), std::string(r.text(0, 1))};
  });
}

void PgStore::begin_batch() {
  impl_->require_writable();
  impl_->begin_batch_transaction();
}

std::exception_ptr PgStore::run_in_batch(const Mutation& mutation) {
  try {
    mutation(*this);
    return nullptr;
  } catch (...) {
    return std::current_exception();
  }
}

std::exception_ptr PgStore::commit_batch() {
  try {
    impl_->commit();
    return nullptr;
  } catch (...) {
    impl_->rollback();
    return std::current_exception();
  }
}

// A transaction with an id commits with a WAL record, and a synchronous commit waits until
// the WAL is flushed past it: past every batch committed before.
void PgStore::sync() {
  std::optional<PgConnection>& c = impl_->flush_conn;
  try {
    if (!c || !c->healthy()) c.emplace(impl_->target.url);
    c->exec("BEGIN; SELECT pg_current_xact_id(); COMMIT");
  } catch (const Error&) {
    c.reset();
    throw;
  }
}

}  // namespace harness
