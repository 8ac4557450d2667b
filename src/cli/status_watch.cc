#include "cli/status_watch.h"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <chrono>
#include <deque>
#include <iostream>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "cli/status_report.h"
#include "core/error.h"
#include "core/posix.h"
#include "log/trajectory_reader.h"
#include "view/status_text.h"

namespace harness {
namespace {

using Clock = std::chrono::steady_clock;

// A frame is made at most this often, however fast events come: a busy fleet writes
// thousands a second, and each frame asks the daemon for the whole workflow.
constexpr auto kMinFrameInterval = std::chrono::milliseconds(100);
constexpr auto kTick = std::chrono::seconds(1);

// Lines of the trajectory as a follower thread reads them, for the drawing loop; wakes it
// through an eventfd it can poll beside the signals.
class EventInbox {
 public:
  EventInbox() : wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (!wake_) throw Error::from_errno("eventfd");
  }
  int fd() const { return wake_.get(); }

  void post(std::string_view line) {
    {
      std::lock_guard lock(mu_);
      lines_.emplace_back(line);
    }
    const std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_.get(), &one, sizeof one);
  }

  std::vector<std::string> take() {
    std::uint64_t count;
    [[maybe_unused]] ssize_t n = ::read(wake_.get(), &count, sizeof count);
    std::lock_guard lock(mu_);
    std::vector<std::string> lines(std::make_move_iterator(lines_.begin()),
                                   std::make_move_iterator(lines_.end()));
    lines_.clear();
    return lines;
  }

 private:
  UniqueFd wake_;
  std::mutex mu_;
  std::deque<std::string> lines_;
};

// SIGINT, SIGTERM, SIGHUP (stop) and SIGWINCH (redraw) as a descriptor. Blocked in the
// calling thread, and so in the threads it starts afterwards; the old mask is restored when
// this goes.
class Signals {
 public:
  Signals() {
    sigemptyset(&set_);
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGWINCH}) sigaddset(&set_, s);
    ::pthread_sigmask(SIG_BLOCK, &set_, &old_);
    fd_ = UniqueFd(::signalfd(-1, &set_, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!fd_) throw Error::from_errno("signalfd");
  }
  ~Signals() { ::pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
  Signals(const Signals&) = delete;
  Signals& operator=(const Signals&) = delete;

  int fd() const { return fd_.get(); }

  // Whether a stopping signal came (SIGWINCH only asks for a redraw).
  bool stop_requested() {
    bool stop = false;
    signalfd_siginfo info{};
    while (::read(fd_.get(), &info, sizeof info) == sizeof info)
      if (info.ssi_signo != SIGWINCH) stop = true;
    return stop;
  }

 private:
  sigset_t set_{}, old_{};
  UniqueFd fd_;
};

// The recent events a frame is computed over: the last kViewEventLines lines at the start,
// and every event followed since.
class EventWindow {
 public:
  explicit EventWindow(std::vector<TrajectoryEvent> initial)
      : events_(initial.begin(), initial.end()) {
    for (const TrajectoryEvent& e : events_) seen_at_start_.insert(e.line);
  }

  void add(const std::string& line) {
    // The follower starts just before the last lines are read: a line in both is kept once.
    if (seen_at_start_.erase(line)) return;
    if (auto event = parse_trajectory_event(line)) events_.push_back(std::move(*event));
    while (events_.size() > kViewEventLines) events_.pop_front();
  }

  std::vector<TrajectoryEvent> all() const { return {events_.begin(), events_.end()}; }

 private:
  std::deque<TrajectoryEvent> events_;
  std::unordered_set<std::string> seen_at_start_;
};

class Watch {
 public:
  Watch(const ClientOptions& client, bool json)
      : client_(client),
        json_(json),
        terminal_(terminal_size(STDOUT_FILENO).has_value() && !json),
        source_(client.worktree),
        follower_([this](std::stop_token stop) {
          source_.follow(
              [this](std::string_view line) {
                inbox_.post(line);
                return true;
              },
              stop);
        }),
        window_(read_recent_events(source_)) {}

  ~Watch() {
    follower_.request_stop();
    if (terminal_) std::cout << "\x1b[?25h" << std::flush;  // the cursor, as it was
  }

  int run() {
    if (terminal_) std::cout << "\x1b[?25l\x1b[H\x1b[2J";
    refresh();
    auto last_frame = Clock::now();
    bool pending = false;  // events came that no frame has shown yet
    for (;;) {
      const auto now = Clock::now();
      auto wait = pending ? kMinFrameInterval - (now - last_frame) : kTick;
      pollfd fds[2] = {{signals_.fd(), POLLIN, 0}, {inbox_.fd(), POLLIN, 0}};
      const int timeout = static_cast<int>(
          std::max<long>(0, std::chrono::duration_cast<std::chrono::milliseconds>(wait).count()));
      if (::poll(fds, 2, timeout) < 0 && errno != EINTR) throw Error::from_errno("poll");
      if (fds[0].revents && signals_.stop_requested()) return 0;
      if (fds[1].revents) {
        for (const std::string& line : inbox_.take()) window_.add(line);
        pending = true;
      }
      if (pending && Clock::now() - last_frame >= kMinFrameInterval) {
        refresh();
        last_frame = Clock::now();
        pending = false;
      } else if (!pending && !fds[1].revents && terminal_) {
        draw();  // the tick (lease countdowns and event ages move on), or a resized terminal
      }
    }
  }

 private:
  // Asks the daemon for the state, then draws it.
  void refresh() {
    try {
      snapshot_ = fetch_status(client_);
      problem_.clear();
    } catch (const std::exception& e) {
      problem_ = std::string("harness: ") + e.what() + " (showing the last state)";
    }
    draw();
  }

  void draw() {
    const Micros now = SystemClock::instance().now();
    std::optional<StatusView> view;
    if (snapshot_ && snapshot_->workflow) {
      const std::vector<TrajectoryEvent> events = window_.all();
      view = compute_status_view(*snapshot_->workflow, events, now);
    }
    if (json_) {
      std::cout << (view ? status_report_json(*view, snapshot_->daemon)
                               .dump(-1, ' ', false, Json::error_handler_t::replace)
                         : "null")
                << std::endl;
      return;
    }
    std::string text = frame(view);
    if (!terminal_) {
      std::cout << text << std::endl;
      return;
    }
    std::string out = "\x1b[H";
    for (std::size_t start = 0, nl; (nl = text.find('\n', start)) != std::string::npos;
         start = nl + 1)
      out.append(text, start, nl - start).append("\x1b[K\n");
    out += "\x1b[J";
    std::cout << out << std::flush;
  }

  std::string frame(const std::optional<StatusView>& view) const {
    std::string top;
    if (!problem_.empty()) top += problem_ + "\n";
    const std::string activity = snapshot_ ? daemon_activity(snapshot_->daemon) : std::string();
    if (!view) return top + "No active workflow\n";
    TextStyle style;
    style.color = use_color(STDOUT_FILENO);
    std::size_t reserved = (problem_.empty() ? 0 : 1) + (activity.empty() ? 0 : 1) + 1;
    if (const auto size = terminal_size(STDOUT_FILENO)) {
      style.width = size->columns;
      style.max_lines = size->rows > reserved ? size->rows - reserved : 1;
    }
    std::string text = top + render_status_text(*view, style);
    if (!activity.empty()) text += activity.substr(0, style.width) + "\n";
    return text;
  }

  const ClientOptions client_;
  const bool json_;
  const bool terminal_;
  const EventSource source_;
  Signals signals_;  // before the follower: it must start with the signals blocked
  EventInbox inbox_;
  std::jthread follower_;
  EventWindow window_;
  std::optional<StatusSnapshot> snapshot_;
  std::string problem_;
};

}  // namespace

int watch_status(const ClientOptions& client, bool json) {
  Watch watch(client, json);
  return watch.run();
}

}  // namespace harness
