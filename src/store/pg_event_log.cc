#include "store/pg_event_log.h"

#include <poll.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "core/logger.h"
#include "store/pg_connection.h"

namespace harness {

namespace {

constexpr std::size_t kMaxQueued = 100'000;
constexpr std::size_t kRowsPerInsert = 1000;
constexpr std::chrono::milliseconds kRetryPause{1000};
// How long a stopping recorder keeps trying to record what is queued.
constexpr std::chrono::seconds kStopGrace{2};

std::string events_channel(std::int64_t plan) { return "harness_events_" + std::to_string(plan); }

std::int64_t plan_id(PgConnection& c, const std::string& plan) {
  PgResult r = c.run("SELECT id FROM harness_plans WHERE name = $1", {plan});
  if (r.rows() == 0) throw Error::not_found("no plan " + plan + " at " + c.where());
  return r.int64(0, 0);
}

}  // namespace

struct PgEventRecorder::Impl {
  PgTarget target;
  std::string daemon;
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<std::string> queue;  // guarded by mutex
  bool stopping = false;          // guarded by mutex
  bool dropped = false;           // said once
  std::unique_ptr<PgConnection> conn;
  std::int64_t plan = 0;
  std::thread thread;

  Impl(PgTarget t, std::string d) : target(std::move(t)), daemon(std::move(d)) {
    thread = std::thread([this] { run(); });
  }

  ~Impl() {
    {
      std::lock_guard lock(mutex);
      stopping = true;
    }
    wake.notify_one();
    thread.join();
  }

  void record(std::string_view lines) {
    {
      std::lock_guard lock(mutex);
      while (!lines.empty()) {
        const std::size_t end = lines.find('\n');
        const std::string_view line = lines.substr(0, end);
        if (!line.empty()) queue.emplace_back(line);
        lines.remove_prefix(end == std::string_view::npos ? lines.size() : end + 1);
      }
      if (queue.size() > kMaxQueued) {
        queue.erase(queue.begin(), queue.begin() + (queue.size() - kMaxQueued));
        if (!std::exchange(dropped, true))
          log_warning(
              "the database lags behind: dropping the oldest trajectory events from "
              "its copy (the trajectory file keeps them)");
      }
    }
    wake.notify_one();
  }

  void insert(const std::vector<std::string>& lines) {
    if (!conn) {
      conn = std::make_unique<PgConnection>(target.url);
      plan = plan_id(*conn, target.plan);
    }
    conn->exec("BEGIN");
    for (std::size_t from = 0; from < lines.size(); from += kRowsPerInsert) {
      const std::size_t n = std::min(kRowsPerInsert, lines.size() - from);
      std::string sql = "INSERT INTO harness_events(plan, daemon, event) VALUES ";
      std::vector<PgParam> params{PgParam(plan), PgParam(daemon)};
      for (std::size_t i = 0; i < n; ++i) {
        sql += (i ? ", ($1, $2, $" : "($1, $2, $") + std::to_string(i + 3) + ")";
        params.emplace_back(lines[from + i]);
      }
      conn->run_once(sql, params);
    }
    conn->run("SELECT pg_notify($1, '')", {events_channel(plan)});
    conn->exec("COMMIT");
  }

  void run() {
    std::unique_lock lock(mutex);
    std::chrono::steady_clock::time_point give_up{};
    for (;;) {
      wake.wait(lock, [&] { return stopping || !queue.empty(); });
      if (queue.empty()) return;
      if (stopping && give_up == std::chrono::steady_clock::time_point{})
        give_up = std::chrono::steady_clock::now() + kStopGrace;
      std::vector<std::string> batch(std::make_move_iterator(queue.begin()),
                                     std::make_move_iterator(queue.end()));
      queue.clear();
      lock.unlock();
      const bool recorded = try_insert(batch);
      lock.lock();
      if (recorded) continue;
      // Kept for the next attempt, before what came meanwhile.
      queue.insert(queue.begin(), std::make_move_iterator(batch.begin()),
                   std::make_move_iterator(batch.end()));
      if (stopping && std::chrono::steady_clock::now() >= give_up) return;
      wake.wait_for(lock, kRetryPause, [&] { return stopping && give_up == decltype(give_up){}; });
    }
  }

  bool try_insert(const std::vector<std::string>& batch) {
    try {
      insert(batch);
      return true;
    } catch (const Error& e) {
      log_warning(std::string("cannot record events in the database: ") + e.what());
      conn.reset();
      return false;
    }
  }
};

PgEventRecorder::PgEventRecorder(PgTarget target, std::string daemon)
    : impl_(std::make_unique<Impl>(std::move(target), std::move(daemon))) {}

PgEventRecorder::~PgEventRecorder() = default;

void PgEventRecorder::record(std::string_view lines) { impl_->record(lines); }

std::vector<std::string> last_pg_events(const PgTarget& target, std::size_t n) {
  PgConnection c(target.url);
  PgResult r = c.run(
      "SELECT event FROM (SELECT id, event FROM harness_events WHERE plan = (SELECT id FROM "
      "harness_plans WHERE name = $1) ORDER BY id DESC LIMIT $2) AS last ORDER BY id",
      {target.plan, static_cast<std::int64_t>(n)});
  std::vector<std::string> lines;
  for (int i = 0; i < r.rows(); ++i) lines.emplace_back(r.text(i, 0));
  return lines;
}

void follow_pg_events(const PgTarget& target, const std::function<bool(std::string_view)>& line,
                      std::stop_token stop) {
  PgConnection c(target.url);
  const std::int64_t plan = plan_id(c, target.plan);
  c.exec("LISTEN \"" + events_channel(plan) + "\"");
  std::int64_t last =
      c.run("SELECT coalesce(max(id), 0) FROM harness_events WHERE plan = $1", {plan}).int64(0, 0);
  while (!stop.stop_requested()) {
    PgResult r =
        c.run("SELECT id, event FROM harness_events WHERE plan = $1 AND id > $2 ORDER BY id",
              {plan, last});
    for (int i = 0; i < r.rows(); ++i) {
      last = r.int64(i, 0);
      if (!line(r.text(i, 1))) return;
    }
    pollfd input{c.socket(), POLLIN, 0};
    // A bounded wait, so that a stop request is seen.
    if (::poll(&input, 1, 500) > 0) c.take_notifications();
  }
}

}  // namespace harness
