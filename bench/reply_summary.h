// What a drain worker needs from a reply to task_claim or task_complete, read with nlohmann's
// SAX parser instead of building a JSON value: the load generator shares the cores with the
// daemon it measures, and building the value of a claim reply (a whole task) for each claim
// would take CPU from the daemon.
#pragma once

#include <string>
#include <string_view>

namespace harness::bench {

struct ReplySummary {
  bool ok = false;          // "status" is "ok"
  std::string message;      // an error envelope's "message"
  bool has_task = false;    // "data"."task" is an object (a claim that got a task)
  std::string task_id;      // "data"."task"."id"
  bool is_retry = false;    // "data"."is_retry"
  bool is_reclaim = false;  // "data"."is_reclaim"
};

// Reads one reply line. Throws Error::io when it is not valid JSON.
ReplySummary summarize_reply(std::string_view line);

}  // namespace harness::bench
