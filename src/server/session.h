// One client connection: reads request lines, hands each to the Service and writes its reply
// before reading the next, so a connection may carry many requests in sequence. A line over
// the size limit gets an error reply and the connection is closed; any other bad request gets
// an error reply and the connection stays usable. Lives on the daemon's I/O thread, except that
// a reply is written by whichever thread finished its request (see send()).
//
// While an exec, git or file import is outstanding, the session watches for the client hanging
// up (the connection closed by the peer, e.g. a CLI killed by Ctrl-C) and then cancels the
// request (Service::handle's `cancelled`). A client that only shut down its sending side still
// waits for the reply and is not a hang-up.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
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

  // Hang-up detection, on the I/O thread. Makes the outstanding request cancellable and
  // returns its token.
  std::stop_token cancel_on_hangup();
  void watch_for_hangup();
  void on_watch(const asio::error_code& error);
  short poll_peer() const;  // poll(2) revents of the connection, without waiting
  void cancel_in_flight();

  Socket socket_;
  Service& service_;
  const std::size_t max_request_bytes_;
  std::function<void()> request_stop_;
  asio::streambuf buffer_;
  std::string outgoing_;

  // The outstanding request's cancellation, while it is cancellable: set by the I/O thread,
  // cleared by whichever thread replies.
  std::mutex in_flight_mutex_;
  std::optional<std::stop_source> in_flight_;
  // A second descriptor of the connection, for waiting on it without touching socket_, which
  // the replying thread uses meanwhile. Both only on the I/O thread.
  std::unique_ptr<asio::posix::stream_descriptor> watcher_;
  bool watching_ = false;
};

}  // namespace harness
