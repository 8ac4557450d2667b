#include "store/pg_change_feed.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "core/logger.h"
#include "core/posix.h"
#include "store/pg_connection.h"

namespace harness {

namespace {

constexpr std::chrono::milliseconds kFirstPause{100};
constexpr std::chrono::milliseconds kLastPause{1000};

}  // namespace

struct PgChangeFeed::Impl {
  PgTarget target;
  std::string channel;
  std::function<void()> on_change;
  std::unique_ptr<PgConnection> conn;
  // Written to stop the thread: poll() watches it beside the connection's socket.
  UniqueFd stop_read, stop_write;
  std::thread thread;

  Impl(const PgTarget& t, std::string c, std::function<void()> callback)
      : target(t), channel(std::move(c)), on_change(std::move(callback)) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw Error::from_errno("cannot make a pipe");
    stop_read.reset(fds[0]);
    stop_write.reset(fds[1]);
    listen();  // the first connection's failure stops the daemon's start: it is reported
    thread = std::thread([this] { run(); });
  }

  ~Impl() {
    [[maybe_unused]] auto n = ::write(stop_write.get(), "x", 1);
    if (thread.joinable()) thread.join();
  }

  void listen() {
    conn = std::make_unique<PgConnection>(target.url);
    // A channel name is an identifier: quoted, it may hold anything but a double quote.
    conn->exec("LISTEN \"" + channel + "\"");
  }

  // Waits for a notification or the stop pipe; false when stopping.
  bool wait_for_input() {
    pollfd fds[2] = {{conn->socket(), POLLIN, 0}, {stop_read.get(), POLLIN, 0}};
    while (::poll(fds, 2, -1) < 0)
      if (errno != EINTR) return false;
    return !(fds[1].revents & POLLIN);
  }

  // Sleeps `pause` unless stopped first; false when stopping.
  bool pause_for(std::chrono::milliseconds pause) {
    pollfd stop{stop_read.get(), POLLIN, 0};
    return ::poll(&stop, 1, static_cast<int>(pause.count())) == 0;
  }

  void run() {
    std::chrono::milliseconds pause{0};
    for (;;) {
      try {
        if (!conn) {
          listen();
          pause = std::chrono::milliseconds(0);
          log_info("listening for other daemons' changes again on " + conn->where());
          on_change();  // what was announced while we were away
        }
        if (!wait_for_input()) return;
        if (!conn->take_notifications().empty()) on_change();
      } catch (const Error& e) {
        if (conn) log_warning(std::string("lost the change feed: ") + e.what());
        conn.reset();
        pause = std::clamp(pause * 2, kFirstPause, kLastPause);
        if (!pause_for(pause)) return;
      }
    }
  }
};

PgChangeFeed::PgChangeFeed(const PgTarget& target, std::string channel,
                           std::function<void()> on_change)
    : impl_(std::make_unique<Impl>(target, std::move(channel), std::move(on_change))) {}

PgChangeFeed::~PgChangeFeed() = default;

}  // namespace harness
