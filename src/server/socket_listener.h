// The daemon's Unix socket (docs/protocol.md): bound with mode 0600, serving each client of the
// daemon's user in a Session; a client of another user gets one error line and is closed.
//
// Only a stale socket file (one nobody answers on) is ever replaced: anything else at the path
// is an Error::invalid, a socket another daemon answers on an Error::conflict. Once started, the
// socket file is checked every second: deleted, it is made again; replaced by another file, the
// listener asks the daemon to stop, since another daemon (or the path's owner) has taken it.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>

#include <asio.hpp>

#include "server/listener.h"
#include "server/service.h"
#include "server/session.h"

namespace harness {

class SocketListener : public Listener {
 public:
  struct Options {
    std::filesystem::path socket_path;
    RequestLimits limits;
  };

  // Binds the socket (throws Error). `io` and `service` must outlive it. `stop_daemon` is
  // called, on the I/O thread, after a shutdown request has been answered or when the socket
  // is lost for good.
  SocketListener(asio::io_context& io, Service& service, Options options,
                 std::function<void()> stop_daemon);
  ~SocketListener() override;

  void start() override;
  void close() override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace harness
