#include "server/plan_intake.h"

namespace harness {

void PlanIntake::enter(asio::any_io_executor executor, std::function<void(Pass)> admitted) {
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    if (held_) {
      waiting_.emplace_back(std::move(executor), std::move(admitted));
      return;
    }
    held_ = true;
  }
  admitted(make_pass());
}

void PlanIntake::close() {
  std::deque<std::pair<asio::any_io_executor, std::function<void(Pass)>>> dropped;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    dropped.swap(waiting_);
  }
  parser_.stop();
  parser_.join();
}

PlanIntake::Pass PlanIntake::make_pass() {
  return Pass(nullptr, [gate = shared_from_this()](void*) { gate->release(); });
}

void PlanIntake::release() {
  std::lock_guard lock(mutex_);
  if (closed_ || waiting_.empty()) {
    held_ = false;
    return;
  }
  auto [executor, admitted] = std::move(waiting_.front());
  waiting_.pop_front();
  asio::post(executor, [admitted = std::move(admitted), pass = make_pass()]() mutable {
    admitted(std::move(pass));
  });
}

}  // namespace harness
