// A front end of the daemon: it accepts clients somewhere and serves their requests through the
// Service (docs/architecture.md, "Adding things"). The Unix socket (socket_listener.h) is the one
// there is; a second one (HTTP for a dashboard, say) is another Listener the Daemon starts beside
// it, on the same I/O context and Service.
#pragma once

namespace harness {

class Listener {
 public:
  virtual ~Listener() = default;
  // Starts accepting clients; called once, before the daemon's I/O thread runs.
  virtual void start() = 0;
  // Stops accepting and removes what it made public (a socket file), before the Service stops.
  // Connections already open are closed with the I/O context.
  virtual void close() = 0;
};

}  // namespace harness
