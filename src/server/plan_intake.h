// Where plan request lines come in (update_state or plan_import with inline tasks; these may be
// far longer than any other request, protocol/bulk_request.h). One is read and run at a time,
// however many clients send one, so the daemon holds at most one such line and one such plan
// and its memory stays bounded by one plan request's limit; the others wait their turn, in the
// order they came, without being read (their clients' sends block meanwhile). Their lines are
// parsed on a thread of the intake's own, so that no other client waits for a large parse.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>

#include <asio.hpp>

namespace harness {

class PlanIntake : public std::enable_shared_from_this<PlanIntake> {
 public:
  // Holding a pass (any copy of it) holds the intake; it opens for the next one when the last
  // copy is gone, on whatever thread that is.
  using Pass = std::shared_ptr<void>;

  // Calls `admitted` with a pass once no other pass is held: at once when the intake is free,
  // else on `executor` once the passes given before are released. Thread-safe.
  void enter(asio::any_io_executor executor, std::function<void(Pass)> admitted);

  // The thread plan lines are parsed on.
  asio::any_io_executor parser() { return parser_.get_executor(); }

  // Forgets everyone still waiting and turns away whoever comes later, without calling them,
  // and waits for a parse in progress: the daemon is stopping (their executor may be gone
  // before the passes are). Call on another thread than the parser's.
  void close();

 private:
  Pass make_pass();
  void release();

  std::mutex mutex_;
  bool held_ = false;
  bool closed_ = false;
  std::deque<std::pair<asio::any_io_executor, std::function<void(Pass)>>> waiting_;
  asio::thread_pool parser_{1};
};

}  // namespace harness
