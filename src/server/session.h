// One client connection: reads request lines, hands each to the Service and writes its reply
// before reading the next, so a connection may carry many requests in sequence. A line over
// its size limit gets an error reply and the connection is closed; any other bad request gets
// an error reply and the connection stays usable. Lives on the daemon's I/O thread, except that
// a reply is written by whichever thread finished its request (see send()).
//
// Two limits (RequestLimits): every line may be `line_bytes` long. A plan request (update_state,
// plan_import with inline tasks) whose first member names its command may go on to
// `plan_line_bytes`: once its first `line_bytes` have come without a newline, the session waits
// its turn at the listener's PlanIntake, then reads the rest into a buffer of its own, parses it
// with parse_bulk_request on the intake's thread and lets the line go before the plan is run;
// the intake takes the next plan once this request is answered.
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
#include <vector>

#include <asio.hpp>

#include "server/plan_intake.h"
#include "server/service.h"

namespace harness {

struct RequestLimits {
  std::size_t line_bytes = std::size_t{1} << 20;
  // Far above a plan of a hundred thousand tasks as the CLI sends it; a larger plan goes to
  // plan_import as a file.
  std::size_t plan_line_bytes = std::size_t{64} << 20;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  using Socket = asio::local::stream_protocol::socket;

  // `request_stop` is called after the reply to a shutdown request has been written.
  // `plan_intake` is shared by every session of the listener.
  Session(Socket socket, Service& service, RequestLimits limits,
          std::shared_ptr<PlanIntake> plan_intake, std::function<void()> request_stop);

  void start();

 private:
  void read_request();
  void on_read(const asio::error_code& error, std::size_t line_length);
  void dispatch(std::string_view line);
  // Hands `request` to the Service and sends its answer; `pass` (if any) is held until then.
  void run(Request request, PlanIntake::Pass pass);
  // Replies `message` (the line is too long) and closes the connection.
  void refuse_overlong(std::string message);

  // A plan request line (see above), once the intake let it in.
  void start_plan_line(PlanIntake::Pass pass);
  void read_plan_chunk();
  void on_plan_chunk(const asio::error_code& error, std::size_t length);
  void finish_plan_line();
  void drop_plan_line();
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
  const RequestLimits limits_;
  const std::shared_ptr<PlanIntake> plan_intake_;
  std::function<void()> request_stop_;
  asio::streambuf buffer_;
  std::string outgoing_;

  // While a plan request line is read: the line so far, the chunk read into, and the gate.
  std::string plan_line_;
  std::vector<char> plan_chunk_;
  PlanIntake::Pass plan_pass_;

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
