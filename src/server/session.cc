#include "server/session.h"

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
  // The reply may come from another thread: hop back onto the I/O thread to build and write it.
  service_.handle(
      std::move(request), [self = shared_from_this(), is_shutdown](Service::ReplyBuilder build) {
        asio::post(self->socket_.get_executor(), [self, is_shutdown, build = std::move(build)] {
          self->send(build(), is_shutdown, is_shutdown);
        });
      });
}

void Session::send(std::string reply, bool close_after, bool stop_after) {
  outgoing_ = std::move(reply);
  outgoing_ += '\n';
  asio::async_write(socket_, asio::buffer(outgoing_),
                    [self = shared_from_this(), close_after, stop_after](
                        const asio::error_code& error, std::size_t) {
                      if (stop_after) self->request_stop_();
                      if (error || close_after) {
                        asio::error_code ignored;
                        self->socket_.shutdown(Socket::shutdown_both, ignored);
                        return;
                      }
                      self->read_request();
                    });
}

}  // namespace harness
