// The trajectory: trajectory.jsonl in the state directory (store/state_dir.h), an append-only
// log with one JSON object per line for every claim, complete, exec and git (docs/architecture.md,
// "Claims and leases"). The state database is the durable record; the log is best effort, so it is
// written off the hot path and never fsynced. Its one promise is line integrity: a line is torn
// only by a crash, and the next writer repairs that so readers (who skip unparseable lines) lose
// only the torn event.
#pragma once

#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/json.h"
#include "log/event_sink.h"

namespace harness {

class TrajectoryWriter : public EventSink {
 public:
  // Opens `file` for appending (O_APPEND|O_CLOEXEC|O_NOFOLLOW), creating it with mode 0600;
  // its directory must exist. If the last line is torn (no trailing '\n', e.g. after kill -9)
  // it is terminated with '\n' so the next event starts on a fresh line. Starts the
  // background thread that does all writing. `clock` must outlive the writer.
  // Throws Error if the file cannot be opened, is not a regular file, or is a symlink.
  //
  // `mirror`, when given, receives each run of lines as it is written (whole lines, each ending
  // in '\n'), on the background thread, whether or not the file write succeeded: a second copy
  // of the trajectory (the PostgreSQL engine's, store/pg_event_log.h). It must not block long.
  using Mirror = std::function<void(std::string_view lines)>;
  explicit TrajectoryWriter(std::filesystem::path file,
                            const Clock& clock = SystemClock::instance(), Mirror mirror = {});

  // Writes everything still queued, then stops the background thread.
  ~TrajectoryWriter() override;

  TrajectoryWriter(const TrajectoryWriter&) = delete;
  TrajectoryWriter& operator=(const TrajectoryWriter&) = delete;

  // Queues one event and returns at once: it never waits for the disk, because the daemon
  // calls it right after a commit. The background thread writes what has gathered a couple of
  // milliseconds after the first event, so a busy daemon wakes it once per window. The line written
  // is {"ts": format_iso8601(clock.now()), <the event's fields>} with "ts" first. Strings that are
  // not valid UTF-8 are written with U+FFFD in place of the bad bytes. Thread-safe; lines appear in
  // the order of the calls. Throws Error (kInvalidArgument) if `event` is not a JSON object.
  void append(Json event) override;
  // The same for an event already serialised: `object_text` must be one JSON object as
  // Json::dump writes it ("{...}", valid UTF-8). The hot path writes its events' text directly.
  void append_serialized(std::string object_text) override;

  const std::filesystem::path& path() const { return path_; }

 private:
  struct Queued {
    Micros ts;
    std::string object_text;
  };

  void run();
  void write_batch(std::vector<Queued>& batch);
  void write_bytes(const std::string& bytes);

  const std::filesystem::path path_;
  const Clock& clock_;
  const Mirror mirror_;
  int fd_ = -1;

  std::mutex mu_;
  std::condition_variable queued_cv_;  // the background thread waits for work or stop
  std::vector<Queued> queue_;          // guarded by mu_
  bool stopping_ = false;              // guarded by mu_

  // Owned by the background thread.
  bool file_ends_mid_line_ = false;  // a failed write left a partial line behind
  bool failing_ = false;             // the last write failed and was reported

  std::thread thread_;  // last: starts after everything above is initialised
};

}  // namespace harness
