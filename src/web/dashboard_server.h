// `harness web`'s HTTP server (docs/web.md): the page, /api/state and /api/events, read-only,
// on 127.0.0.1, for whoever has the token.
#pragma once

#include <memory>
#include <string>

#include "web/event_hub.h"
#include "web/state_cache.h"

namespace harness {

struct DashboardConfig {
  int port = 0;       // 0: a free port
  std::string token;  // make_access_token()
};

class DashboardServer {
 public:
  // Binds 127.0.0.1:port at once; throws Error naming the port when it cannot. `state` and
  // `events` must outlive the server; stop() closes `events`.
  DashboardServer(const DashboardConfig& config, StateCache& state, EventHub& events);
  ~DashboardServer();
  DashboardServer(const DashboardServer&) = delete;
  DashboardServer& operator=(const DashboardServer&) = delete;

  int port() const { return port_; }
  // http://127.0.0.1:PORT/?token=TOKEN
  std::string url() const;

  // Serves until stop(). Every request must carry the token, as ?token= or (for the API) the
  // X-Harness-Token header or "Authorization: Bearer": without one it gets 401, with a wrong
  // one 403. Then GET / is the page, GET /api/state the state, GET /api/events the event
  // stream; any other method gets 405, any other path 404.
  void run();
  // Makes run() return: closes the event streams first. Any thread.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
  std::string token_;
};

}  // namespace harness
