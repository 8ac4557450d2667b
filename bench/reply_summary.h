// What a drain worker needs from a reply to task_claim or task_complete (with or without
// "next"), read with nlohmann's
// SAX parser instead of building a JSON value: the load generator shares the cores with the
// daemon it measures, and building the value of a claim reply (a whole task) for each claim
// would take CPU from the daemon.
#pragma once

#include <string>
#include <string_view>

namespace harness::bench {

// Where a reply carries a claim's data: a task_claim's reply at "data", a task_complete's with
// "next" at "data"."next".
enum class ClaimAt { kData, kNext };

// The claim fields below are read at the ClaimAt place (CLAIM stands for it).
struct ReplySummary {
  bool ok = false;             // "status" is "ok"
  std::string message;         // an error envelope's "message"
  std::string completed_id;    // "data"."task_id" (a completion's)
  bool has_task = false;       // CLAIM."task" is an object (a claim that got a task)
  std::string task_id;         // CLAIM."task"."id"
  std::string lease;           // CLAIM."lease"
  bool is_retry = false;       // CLAIM."is_retry"
  bool is_reclaim = false;     // CLAIM."is_reclaim"
  bool plan_complete = false;  // CLAIM."plan_complete"
  bool has_claim = false;      // CLAIM is an object (absent: the completion claimed nothing)
};

// Reads one reply line. Throws Error::io when it is not valid JSON.
ReplySummary summarize_reply(std::string_view line, ClaimAt claim_at = ClaimAt::kData);

}  // namespace harness::bench
