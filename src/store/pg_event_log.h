// The fleet's trajectory (DESIGN §8c): with the PostgreSQL engine each daemon keeps its own
// trajectory file and also records every event in the database (harness_events), so that
// `harness log` on any machine shows the whole fleet. Recording is best effort and off the
// daemon's paths, like the file: events queue in memory (up to a bound, then the oldest are
// dropped, said once in the daemon's log) and a thread of the recorder inserts them in batches,
// waiting out an outage.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "store/pg_store.h"

namespace harness {

class PgEventRecorder {
 public:
  // `daemon` names this daemon in each row (host and pid). Starts the recording thread; the
  // plan's row must exist (the daemon's store made it).
  PgEventRecorder(PgTarget target, std::string daemon);
  // Records what is queued if the server answers, then stops.
  ~PgEventRecorder();

  // Queues trajectory lines, each ending in '\n', and returns at once. Thread-safe.
  void record(std::string_view lines);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The last `n` events of the plan of `target`, oldest first, as the trajectory's lines.
std::vector<std::string> last_pg_events(const PgTarget& target, std::size_t n);

// Calls `line` for each event recorded after the call, in order, until it returns false or
// `stop` is requested. Woken by the recorders' notifications. Throws Error::io when the server
// cannot be reached.
void follow_pg_events(const PgTarget& target, const std::function<bool(std::string_view)>& line,
                      std::stop_token stop);

}  // namespace harness
