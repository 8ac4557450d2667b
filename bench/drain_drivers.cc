#include "drain_drivers.h"

#include <sys/epoll.h>

#include <algorithm>
#include <deque>
#include <latch>
#include <thread>

#include "core/error.h"
#include "core/posix.h"

namespace harness::bench {

namespace {

using Clock = DrainRun::Clock;

void warm_up(Connection& connection, ConnectionMode mode) {
  if (mode == ConnectionMode::kPersistent) call(connection, Json{{"command", "ping"}});
}

// One worker's loop on a thread of its own.
void run_on_thread(DrainRun& run, DrainWorker& worker, const std::filesystem::path& socket,
                   const DriverOptions& options, std::latch& gate) {
  Connection connection(socket, options.connection);
  try {
    warm_up(connection, options.connection);
  } catch (const std::exception& e) {
    run.fail(worker.name() + ": " + e.what());
  }
  gate.arrive_and_wait();
  try {
    while (!run.over() && !worker.finished()) {
      run.check_deadline();
      const auto start = Clock::now();
      const std::string reply = connection.round_trip(worker.request());
      const auto wait = worker.on_reply(reply, nanos_since(start));
      if (wait.count() > 0 && !worker.finished()) std::this_thread::sleep_for(wait);
    }
  } catch (const std::exception& e) {
    run.fail(worker.name() + ": " + e.what());
  }
}

void drive_on_threads(DrainRun& run, std::vector<std::unique_ptr<DrainWorker>>& workers,
                      const DriverOptions& options, const std::function<void()>& on_release) {
  std::latch gate(static_cast<std::ptrdiff_t>(workers.size() + 1));
  std::vector<std::jthread> threads;
  for (std::size_t i = 0; i < workers.size(); ++i) {
    const std::filesystem::path& socket = options.sockets[i % options.sockets.size()];
    threads.emplace_back(
        [&, w = workers[i].get()] { run_on_thread(run, *w, socket, options, gate); });
  }
  on_release();
  gate.arrive_and_wait();
}  // joins

// Every worker on one thread: a request goes out as soon as its worker has one, and the loop
// sleeps in epoll until a reply arrives or a backing-off worker's wait ends.
class EventLoop {
 public:
  EventLoop(DrainRun& run, std::vector<std::unique_ptr<DrainWorker>>& workers,
            std::deque<Connection>& connections)
      : run_(run), epoll_(::epoll_create1(EPOLL_CLOEXEC)) {
    if (!epoll_) throw Error::from_errno("epoll_create1");
    for (std::size_t i = 0; i < workers.size(); ++i)
      slots_.push_back(Slot{*workers[i], connections[i]});
  }

  void run() {
    for (std::size_t i = 0; i < slots_.size(); ++i) as_worker(i, [&] { send(i); });
    while (!run_.stop && (outstanding_ > 0 || !run_.over())) {
      run_.check_deadline();
      wait_for_replies();
      wake_sleepers();
    }
  }

 private:
  struct Slot {
    DrainWorker& worker;
    Connection& connection;
    Clock::time_point sent_at{};
    Clock::time_point wake_at = Clock::time_point::max();  // max: not backing off
    bool registered = false;  // the connection's descriptor is on the epoll interest list
  };

  void send(std::size_t i) {
    Slot& slot = slots_[i];
    slot.sent_at = Clock::now();
    slot.connection.send_request(slot.worker.request());
    ++outstanding_;
    if (slot.registered) return;
    epoll_event interest{};
    interest.events = EPOLLIN;
    interest.data.u64 = i;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, slot.connection.fd(), &interest) < 0)
      throw Error::from_errno("epoll_ctl");
    slot.registered = true;
  }

  void wait_for_replies() {
    epoll_event ready[64];
    const timespec timeout = time_until(next_wake());
    const int n = ::epoll_pwait2(epoll_.get(), ready, std::size(ready), &timeout, nullptr);
    if (n < 0 && errno != EINTR) throw Error::from_errno("epoll_pwait2");
    for (int k = 0; k < n; ++k) {
      const auto i = static_cast<std::size_t>(ready[k].data.u64);
      as_worker(i, [&] { read_reply(i); });
    }
  }

  void read_reply(std::size_t i) {
    Slot& slot = slots_[i];
    const std::optional<std::string> reply = slot.connection.try_read_reply();
    if (!reply) return;  // not all there yet
    --outstanding_;
    // A per-request connection is closed by its reply, which takes it off the interest list.
    if (!slot.connection.is_open()) slot.registered = false;
    const auto wait = slot.worker.on_reply(*reply, nanos_since(slot.sent_at));
    if (run_.over() || slot.worker.finished()) return;
    if (wait.count() > 0)
      slot.wake_at = Clock::now() + wait;
    else
      send(i);
  }

  // Runs `step` for worker i, naming the worker in what it throws.
  template <typename Step>
  void as_worker(std::size_t i, Step step) {
    try {
      step();
    } catch (const std::exception& e) {
      throw Error::io(slots_[i].worker.name() + ": " + e.what());
    }
  }

  void wake_sleepers() {
    const auto now = Clock::now();
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].wake_at > now) continue;
      slots_[i].wake_at = Clock::time_point::max();
      if (!run_.over()) as_worker(i, [&] { send(i); });
    }
  }

  Clock::time_point next_wake() const {
    Clock::time_point next = run_.deadline;
    for (const Slot& slot : slots_) next = std::min(next, slot.wake_at);
    return next;
  }

  static timespec time_until(Clock::time_point when) {
    const auto ns = std::max<std::int64_t>(
        0, std::chrono::duration_cast<std::chrono::nanoseconds>(when - Clock::now()).count());
    return timespec{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
  }

  DrainRun& run_;
  UniqueFd epoll_;
  std::vector<Slot> slots_;
  std::size_t outstanding_ = 0;
};

void drive_on_event_loop(DrainRun& run, std::vector<std::unique_ptr<DrainWorker>>& workers,
                         const DriverOptions& options, const std::function<void()>& on_release) {
  try {
    std::deque<Connection> connections;
    for (std::size_t i = 0; i < workers.size(); ++i) {
      warm_up(
          connections.emplace_back(options.sockets[i % options.sockets.size()], options.connection),
          options.connection);
    }
    EventLoop loop(run, workers, connections);
    on_release();
    loop.run();
  } catch (const std::exception& e) {
    run.fail(e.what());
  }
}

}  // namespace

const char* to_string(ClientModel model) {
  return model == ClientModel::kThreads ? "threads" : "event-loop";
}

void drive(DrainRun& run, std::vector<std::unique_ptr<DrainWorker>>& workers,
           const DriverOptions& options, const std::function<void()>& on_release) {
  if (options.model == ClientModel::kThreads)
    drive_on_threads(run, workers, options, on_release);
  else
    drive_on_event_loop(run, workers, options, on_release);
}

}  // namespace harness::bench
