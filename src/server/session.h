// One client connection: reads request lines, hands each to the Service and writes its reply
// before reading the next, so a connection may carry many requests in sequence. A line over
// the size limit gets an error reply and the connection is closed; any other bad request gets
// an error reply and the connection stays usable. Lives on the daemon's I/O thread, except that
// a reply is written by whichever thread finished its request (see send()).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <asio.hpp>

#include "server/service.h"

namespace harness {

class Session : public std::enable_shared_from_this<Session> {
 public:
  using Socket = asio::local::stream_protocol::socket;

  // `request_stop` is called after the reply to a shutdown request has been written.
  Session(Socket socket, Service& service, std::size_t max_request_bytes,
          std::function<void()> request_stop);

  void start();

 private:
  void read_request();
  void on_read(const asio::error_code& error, std::size_t line_length);
  void dispatch(std::string_view line);
  // Writes `reply` and a newline, then reads the next request, or closes the connection when
  // `close_after`, after calling request_stop_ when `stop_after`.
  void send(std::string reply, bool close_after, bool stop_after);
  // Writes as much of outgoing_ as the socket takes at once; returns the bytes written.
  std::size_t send_without_blocking();
  void finish_send(std::size_t sent, bool close_after, bool stop_after);
  void after_send(const asio::error_code& error, bool close_after, bool stop_after);

  Socket socket_;
  Service& service_;
  const std::size_t max_request_bytes_;
  std::function<void()> request_stop_;
  asio::streambuf buffer_;
  std::string outgoing_;
};

}  // namespace harness
