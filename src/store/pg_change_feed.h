// Wake-ups from the other daemons of a PostgreSQL plan (DESIGN §8c): a connection of its own
// that LISTENs on the plan's channel (PgStore::change_channel), on a thread of its own, and
// calls back whenever a commit elsewhere may have made work ready — a completion that released
// a dependent, a release, a retry, a new plan. The daemon's waiting claims try again then
// (server/claim_waiters.h). When the connection is lost it is made again with a growing pause,
// and the callback runs once it is back, since notifications sent meanwhile were lost.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "store/pg_store.h"

namespace harness {

class PgChangeFeed {
 public:
  // Starts listening on `channel` of the server of `target`. `on_change` runs on the feed's
  // thread and must not block long. Throws Error::io when the server cannot be reached.
  PgChangeFeed(const PgTarget& target, std::string channel, std::function<void()> on_change);
  // Stops the thread.
  ~PgChangeFeed();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace harness
