#include "server/session.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

#include "protocol/envelope.h"
#include "protocol/reply_encoder.h"
#include "protocol/request_codec.h"

namespace harness {

Session::Session(Socket socket, Service& service, std::size_t max_request_bytes,
                 std::function<void()> request_stop)
    : socket_(std::move(socket)),
      service_(service),
      max_request_bytes_(max_request_bytes),
      request_stop_(std::move(request_stop)),
      buffer_(max_request_bytes + 1) {}  // room for the line and its newline

void Session::start() { read_request(); }

void Session::read_request() {
  asio::async_read_until(socket_, buffer_, '\n',
                         [self = shared_from_this()](const asio::error_code& error, std::size_t n) {
                           self->on_read(error, n);
                         });
}

void Session::on_read(const asio::error_code& error, std::size_t line_length) {
  if (error == asio::error::not_found) {  // the buffer filled up without a newline
    send(error_reply("request line exceeds " + std::to_string(max_request_bytes_) + " bytes"), true,
         false);
    return;
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

void Session::dispatch(std::string_view line) {
  Request request;
  try {
    request = parse_request(line);
  } catch (const std::exception& e) {
    send(error_reply(e.what()), false, false);
    return;
  }
  const bool is_shutdown = std::holds_alternative<ShutdownRequest>(request);
  // Only what may run long is worth cancelling; claims and completes (the hot path) are not.
  const auto* import = std::get_if<PlanImportRequest>(&request);
  const bool cancellable = std::holds_alternative<ExecRequest>(request) ||
                           std::holds_alternative<GitRequest>(request) || (import && import->file);
  const std::stop_token cancelled = cancellable ? cancel_on_hangup() : std::stop_token();
  // The reply is written by the thread that finishes the request (for a mutation, the syncer,
  // the moment it is durable) instead of waiting for the I/O thread to be woken for it.
  service_.handle(
      std::move(request),
      [self = shared_from_this(), is_shutdown, cancellable](Answer answer) {
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
