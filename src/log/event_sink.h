// Where the daemon's events go (DESIGN §3): one JSON object per claim, complete, exec, git and
// start or stop. The trajectory (log/trajectory_writer.h) is the one in use; a test records them.
#pragma once

#include <string>

#include "core/json.h"

namespace harness {

class EventSink {
 public:
  virtual ~EventSink() = default;

  // Records `event`, a JSON object, and returns at once: the daemon calls it right after a
  // commit. Thread-safe; events keep the order of the calls. Throws Error::invalid if `event`
  // is not an object.
  virtual void append(Json event) = 0;
  // The same for an event already serialised: `object_text` is one JSON object as Json::dump
  // writes it ("{...}", valid UTF-8). The hot path writes its events' text directly.
  virtual void append_serialized(std::string object_text) = 0;
};

}  // namespace harness
