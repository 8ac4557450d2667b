#include "server/session.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

#include "protocol/bulk_request.h"
#include "protocol/envelope.h"
#include "protocol/reply_encoder.h"
#include "protocol/request_codec.h"

namespace harness {

namespace {

// How much of a plan request line one read takes.
constexpr std::size_t kPlanChunkBytes = 64 << 10;

std::string_view buffered(const asio::streambuf& buffer) {
  return {static_cast<const char*>(buffer.data().data()), buffer.size()};
}

}  // namespace

Session::Session(Socket socket, Service& service, RequestLimits limits,
                 std::shared_ptr<PlanIntake> plan_intake, std::function<void()> request_stop)
    : socket_(std::move(socket)),
      service_(service),
      limits_(limits),
      plan_intake_(std::move(plan_intake)),
      request_stop_(std::move(request_stop)),
      buffer_(limits.line_bytes + 1) {}  // room for the line and its newline

void Session::start() { read_request(); }

void Session::read_request() {
  asio::async_read_until(socket_, buffer_, '\n',
                         [self = shared_from_this()](const asio::error_code& error, std::size_t n) {
                           self->on_read(error, n);
                         });
}

void Session::on_read(const asio::error_code& error, std::size_t line_length) {
  if (error == asio::error::not_found) {  // the buffer filled up without a newline
    if (limits_.plan_line_bytes > limits_.line_bytes && bulk_command_of(buffered(buffer_))) {
      plan_intake_->enter(socket_.get_executor(),
                          [self = shared_from_this()](PlanIntake::Pass pass) {
                            self->start_plan_line(std::move(pass));
                          });
      return;
    }
    std::string message = "request line exceeds " + std::to_string(limits_.line_bytes) + " bytes";
    if (limits_.plan_line_bytes > limits_.line_bytes)
      message +=
          " (only update_state and plan_import, sent with \"command\" as the first member, "
          "may be longer: up to " +
          std::to_string(limits_.plan_line_bytes) + " bytes)";
    return refuse_overlong(std::move(message));
  }
  if (error == asio::error::eof && buffer_.size() > 0) {
    // A client that half-closed after a line without its newline is still reading: tell it.
    // The line is not run: a client killed while sending may have sent only part of it.
    send(error_reply("the connection was closed inside a request line: every request ends with "
                     "a newline"),
         true, false);
    return;
  }
  if (error) return;  // disconnected, possibly mid-request: nothing to answer
  std::string line(asio::buffers_begin(buffer_.data()),
                   asio::buffers_begin(buffer_.data()) + line_length - 1);
  buffer_.consume(line_length);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  dispatch(line);
}

void Session::refuse_overlong(std::string message) { send(error_reply(message), true, false); }

void Session::start_plan_line(PlanIntake::Pass pass) {
  plan_pass_ = std::move(pass);
  // Reserved, not filled: only the pages the line reaches become resident, and the line is
  // never copied to grow.
  plan_line_.reserve(limits_.plan_line_bytes + 1);
  plan_line_ = buffered(buffer_);
  buffer_.consume(buffer_.size());
  plan_chunk_.resize(kPlanChunkBytes);
  read_plan_chunk();
}

void Session::read_plan_chunk() {
  socket_.async_read_some(
      asio::buffer(plan_chunk_),
      [self = shared_from_this()](const asio::error_code& error, std::size_t n) {
        self->on_plan_chunk(error, n);
      });
}

void Session::on_plan_chunk(const asio::error_code& error, std::size_t length) {
  if (error) {
    drop_plan_line();
    if (error == asio::error::eof)  // as in on_read: the line is not run
      send(error_reply("the connection was closed inside a request line: every request ends "
                       "with a newline"),
           true, false);
    return;
  }
  const std::string_view chunk(plan_chunk_.data(), length);
  const std::size_t newline = chunk.find('\n');
  const std::string_view part = chunk.substr(0, newline);
  if (plan_line_.size() + part.size() > limits_.plan_line_bytes) {
    const std::string command(bulk_command_of(plan_line_).value_or("plan"));
    drop_plan_line();
    return refuse_overlong(command + " request line exceeds " +
                           std::to_string(limits_.plan_line_bytes) +
                           " bytes: give a larger plan to plan_import as a file");
  }
  plan_line_ += part;
  if (newline == std::string_view::npos) return read_plan_chunk();
  // What follows the newline begins the next request.
  const std::string_view next = chunk.substr(newline + 1);
  buffer_.commit(asio::buffer_copy(buffer_.prepare(next.size()), asio::buffer(next)));
  finish_plan_line();
}

// On the intake's parser thread, then back on the I/O thread to run the request.
void Session::finish_plan_line() {
  asio::post(plan_intake_->parser(), [self = shared_from_this()] {
    std::string& line = self->plan_line_;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::optional<Request> request;
    std::string problem;
    try {
      request.emplace(parse_bulk_request(line));
    } catch (const std::exception& e) {
      problem = e.what();
    }
    PlanIntake::Pass pass = std::move(self->plan_pass_);
    self->drop_plan_line();  // before the plan runs: it holds what it needs
    if (!request) return self->send(error_reply(problem), false, false);
    asio::post(self->socket_.get_executor(),
               [self, request = std::move(*request), pass = std::move(pass)]() mutable {
                 self->run(std::move(request), std::move(pass));
               });
  });
}

void Session::drop_plan_line() {
  std::string().swap(plan_line_);
  std::vector<char>().swap(plan_chunk_);
  plan_pass_.reset();
}

void Session::dispatch(std::string_view line) {
  Request request;
  try {
    request = parse_request(line);
  } catch (const std::exception& e) {
    send(error_reply(e.what()), false, false);
    return;
  }
  run(std::move(request), nullptr);
}

void Session::run(Request request, PlanIntake::Pass pass) {
  const bool is_shutdown = std::holds_alternative<ShutdownRequest>(request);
  // Only what may run long is worth cancelling (a claim that waits included); plain claims and
  // completes (the hot path) are not.
  const auto* import = std::get_if<PlanImportRequest>(&request);
  const auto* claim = std::get_if<ClaimRequest>(&request);
  const bool cancellable = std::holds_alternative<ExecRequest>(request) ||
                           std::holds_alternative<GitRequest>(request) ||
                           (import && import->file) || (claim && claim->wait);
  const std::stop_token cancelled = cancellable ? cancel_on_hangup() : std::stop_token();
  // The reply is written by the thread that finishes the request (for a mutation, the syncer,
  // the moment it is durable) instead of waiting for the I/O thread to be woken for it.
  service_.handle(
      std::move(request),
      [self = shared_from_this(), is_shutdown, cancellable, pass = std::move(pass)](Answer answer) {
        std::string reply;
        try {
          reply = encode_answer(answer);
        } catch (const std::exception& e) {
          reply = error_reply(e.what());
        }
        if (cancellable) {
          std::lock_guard lock(self->in_flight_mutex_);
          self->in_flight_.reset();
        }
        self->send(std::move(reply), is_shutdown, is_shutdown);
      },
      cancelled);
}

std::stop_token Session::cancel_on_hangup() {
  std::stop_source source;
  {
    std::lock_guard lock(in_flight_mutex_);
    in_flight_ = source;
  }
  watch_for_hangup();
  return source.get_token();
}

// Waits for the connection to become readable: the peer hung up, or sent more.
void Session::watch_for_hangup() {
  if (watching_) return;
  if (!watcher_) {
    const int fd = ::fcntl(socket_.native_handle(), F_DUPFD_CLOEXEC, 0);
    if (fd < 0) return;  // out of descriptors: this request just cannot be cancelled
    watcher_ = std::make_unique<asio::posix::stream_descriptor>(socket_.get_executor(), fd);
  }
  // A hang-up before the wait begins would not wake it (the reactor is edge-triggered).
  if (poll_peer() & (POLLHUP | POLLERR)) return cancel_in_flight();
  watching_ = true;
  watcher_->async_wait(
      asio::posix::stream_descriptor::wait_read,
      [self = shared_from_this()](const asio::error_code& error) { self->on_watch(error); });
}

void Session::on_watch(const asio::error_code& error) {
  watching_ = false;
  if (error) return;  // closing
  {
    std::lock_guard lock(in_flight_mutex_);
    if (!in_flight_) return;  // answered meanwhile: what came is the next request, read_request's
  }
  const short events = poll_peer();
  if (events & (POLLHUP | POLLERR)) return cancel_in_flight();
  // Readable without a hang-up: a pipelined request, or a client that shut down only its sending
  // side and still waits for the reply. Neither is a reason to cancel; stop watching.
  if (events & (POLLIN | POLLRDHUP)) return;
  watch_for_hangup();
}

short Session::poll_peer() const {
  pollfd peer{watcher_->native_handle(), POLLIN | POLLRDHUP, 0};
  while (::poll(&peer, 1, 0) < 0 && errno == EINTR) {
  }
  return peer.revents;
}

// Outside the lock: stopping runs the request's stop callbacks (killing a process group), and
// the reply they lead to takes the lock too.
void Session::cancel_in_flight() {
  std::optional<std::stop_source> source;
  {
    std::lock_guard lock(in_flight_mutex_);
    source = in_flight_;
  }
  if (source) source->request_stop();
}

// Runs on any thread. While a reply is outstanding no read is armed and no write is in flight,
// so nothing else touches the socket (or this session, but for the hang-up watch, which uses a
// descriptor of its own and in_flight_ under its mutex): writing to it directly here races with
// nothing.
void Session::send(std::string reply, bool close_after, bool stop_after) {
  outgoing_ = std::move(reply);
  outgoing_ += '\n';
  const std::size_t sent = send_without_blocking();
  // The usual case: all of it went out, so the next request can be read at once. Starting the
  // read here, on whatever thread this is, is safe for the same reason as the write above; its
  // handler runs on the I/O thread. Waiting for the I/O thread to start it instead left each
  // next request lying in the socket until that thread was woken for it.
  if (sent == outgoing_.size() && !close_after && !stop_after) return read_request();
  asio::post(socket_.get_executor(), [self = shared_from_this(), sent, close_after, stop_after] {
    self->finish_send(sent, close_after, stop_after);
  });
}

std::size_t Session::send_without_blocking() {
  std::size_t sent = 0;
  while (sent < outgoing_.size()) {
    const ssize_t n = ::send(socket_.native_handle(), outgoing_.data() + sent,
                             outgoing_.size() - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the socket is full (the I/O thread writes the rest) or broken
    sent += static_cast<std::size_t>(n);
  }
  return sent;
}

// On the I/O thread: writes what send() could not (a broken connection fails here), then reads
// the next request or closes.
void Session::finish_send(std::size_t sent, bool close_after, bool stop_after) {
  if (sent == outgoing_.size()) return after_send({}, close_after, stop_after);
  asio::async_write(socket_, asio::buffer(outgoing_.data() + sent, outgoing_.size() - sent),
                    [self = shared_from_this(), close_after, stop_after](
                        const asio::error_code& error, std::size_t) {
                      self->after_send(error, close_after, stop_after);
                    });
}

void Session::after_send(const asio::error_code& error, bool close_after, bool stop_after) {
  if (stop_after) request_stop_();
  if (error || close_after) {
    asio::error_code ignored;
    socket_.shutdown(Socket::shutdown_both, ignored);
    return;
  }
  read_request();
}

}  // namespace harness
