#include "web/dashboard_server.h"

#include <httplib.h>

#include <chrono>
#include <string_view>

#include "core/error.h"
#include "web/access_token.h"
#include "web/dashboard_page.h"

namespace harness {
namespace {

constexpr const char* kHost = "127.0.0.1";
// An event stream with nothing to say still writes this often, so that a client that went
// away is noticed and its thread freed.
constexpr auto kKeepAlive = std::chrono::seconds(15);
// Each open event stream holds one of these threads.
constexpr std::size_t kServerThreads = 32;

// The token a request carries: ?token=, else X-Harness-Token, else "Authorization: Bearer".
std::optional<std::string> token_of(const httplib::Request& req) {
  if (req.has_param("token")) return req.get_param_value("token");
  if (req.has_header("X-Harness-Token")) return req.get_header_value("X-Harness-Token");
  const std::string auth = req.get_header_value("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (auth.starts_with(kBearer)) return auth.substr(kBearer.size());
  return std::nullopt;
}

void refuse(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(message + "\n", "text/plain; charset=utf-8");
}

// A server-sent event: `event` and one data line (trajectory lines hold no newline).
std::string sse(std::string_view event, std::string_view data) {
  std::string text = "event: ";
  text.append(event).append("\ndata: ").append(data).append("\n\n");
  return text;
}

}  // namespace

struct DashboardServer::Impl {
  httplib::Server http;
  StateCache& state;
  EventHub& events;

  Impl(StateCache& s, EventHub& e) : state(s), events(e) {}

  // Streams events from the hub's current end: each trajectory line as an event of type
  // "trajectory", and "state" (with the state's version) whenever a new /api/state is ready;
  // a comment line when nothing happened for a while.
  void stream_events(httplib::Response& res) {
    struct Position {
      std::uint64_t next;
      std::uint64_t state_version;
      bool greeted = false;
    };
    auto at = std::make_shared<Position>(Position{events.next(), state.version()});
    res.set_header("X-Accel-Buffering", "no");
    res.set_chunked_content_provider(
        "text/event-stream", [this, at](std::size_t, httplib::DataSink& sink) {
          if (!at->greeted) {  // at once, so that the client knows the stream is open
            at->greeted = true;
            static constexpr std::string_view kHello = ": harness\nretry: 2000\n\n";
            return sink.write(kHello.data(), kHello.size());
          }
          const EventHub::Batch batch = events.wait(at->next, kKeepAlive);
          if (batch.closed) return false;
          std::string text;
          for (const std::string& line : batch.lines) text += sse("trajectory", line);
          at->next = batch.next;
          if (const std::uint64_t version = state.version(); version != at->state_version) {
            at->state_version = version;
            text += sse("state", "{\"version\":" + std::to_string(version) + "}");
          }
          if (text.empty()) text = ": keep-alive\n\n";
          return sink.write(text.data(), text.size());
        });
  }
};

DashboardServer::DashboardServer(const DashboardConfig& config, StateCache& state, EventHub& events)
    : impl_(std::make_unique<Impl>(state, events)), token_(config.token) {
  httplib::Server& http = impl_->http;
  http.new_task_queue = [] { return new httplib::ThreadPool(kServerThreads); };
  http.set_payload_max_length(64 * 1024);
  // The library's default adds SO_REUSEPORT, with which a second server binds a port in use
  // (and shares its connections) instead of failing.
  http.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  http.set_default_headers({{"Cache-Control", "no-store"},
                            {"Referrer-Policy", "no-referrer"},
                            {"X-Content-Type-Options", "nosniff"},
                            {"X-Frame-Options", "DENY"}});
  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    const std::optional<std::string> token = token_of(req);
    if (!token) {
      refuse(res, 401, "This dashboard needs its token: open the URL harness web printed.");
    } else if (!token_matches(*token, token_)) {
      refuse(res, 403, "Wrong token: open the URL harness web printed.");
    } else if (req.method != "GET" && req.method != "HEAD") {
      res.set_header("Allow", "GET, HEAD");
      refuse(res, 405, "The dashboard is read-only: only GET.");
    } else {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    return httplib::Server::HandlerResponse::Handled;
  });
  http.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Content-Security-Policy",
                   "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                   "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'");
    res.set_content(std::string(dashboard_page()), "text/html; charset=utf-8");
  });
  http.Get("/api/state", [this](const httplib::Request&, httplib::Response& res) {
    const StateCache::Body body = impl_->state.body();
    res.status = body.http_status;
    res.set_content(body.json, "application/json");
  });
  http.Get("/api/events",
           [this](const httplib::Request&, httplib::Response& res) { impl_->stream_events(res); });
  port_ = config.port == 0 ? http.bind_to_any_port(kHost)
                           : (http.bind_to_port(kHost, config.port) ? config.port : -1);
  if (port_ <= 0)
    throw Error::io("cannot listen on " + std::string(kHost) + ":" + std::to_string(config.port) +
                    (config.port ? " (in use? --port 0 picks a free port)" : ""));
}

DashboardServer::~DashboardServer() { stop(); }

std::string DashboardServer::url() const {
  return "http://" + std::string(kHost) + ":" + std::to_string(port_) + "/?token=" + token_;
}

void DashboardServer::run() { impl_->http.listen_after_bind(); }

void DashboardServer::stop() {
  impl_->events.close();
  impl_->http.stop();
}

}  // namespace harness
