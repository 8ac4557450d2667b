#include "ledger.h"

#include <unistd.h>

#include "core/error.h"

namespace harness::bench {

namespace {

constexpr std::size_t kProblemsQuoted = 5;

}  // namespace

std::string worker_name(std::size_t index) {
  return "bench-" + std::to_string(::getpid()) + "-w" + std::to_string(index);
}

Ledger::Ledger(const Workflow& workflow) : acks_(workflow.tasks.size()), by_(acks_.size()) {
  index_.reserve(acks_.size());
  for (std::size_t i = 0; i < acks_.size(); ++i) index_.emplace(workflow.tasks[i].id, i);
}

void Ledger::record(const std::string& task_id, std::size_t worker) {
  const auto it = index_.find(task_id);
  if (it == index_.end()) throw Error::io("the daemon handed out unknown task " + task_id);
  acks_[it->second].fetch_add(1);
  by_[it->second].store(worker);
}

void Ledger::verify_acks(const Workflow& workflow) const {
  std::string problems;
  std::size_t count = 0;
  for (std::size_t i = 0; i < acks_.size(); ++i) {
    if (acks_[i] == 1) continue;
    if (++count <= kProblemsQuoted)
      problems += " " + workflow.tasks[i].id + " (" + std::to_string(acks_[i]) + " acks)";
  }
  if (count)
    throw Error::io(std::to_string(count) + " tasks were not completed exactly once:" + problems);
}

void Ledger::verify_state(const Json& state) const {
  const Json& tasks = state.at("tasks");
  if (tasks.size() != acks_.size())
    throw Error::io("get_state holds " + std::to_string(tasks.size()) + " tasks, expected " +
                    std::to_string(acks_.size()));
  std::string problems;
  std::size_t count = 0;
  for (const auto& [id, task] : tasks.items()) {
    const auto it = index_.find(id);
    const std::string status = task.value("status", "");
    const bool ok = it != index_.end() && status == "completed" &&
                    task.value("claimed_by", Json()) == worker_name(by_[it->second]);
    if (!ok && ++count <= kProblemsQuoted) problems += " " + id + " (" + status + ")";
  }
  if (count) throw Error::io(std::to_string(count) + " tasks are wrong in get_state:" + problems);
}

}  // namespace harness::bench
