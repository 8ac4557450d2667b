#include "store/store.h"

namespace harness {

std::vector<std::exception_ptr> Store::run_batch(const std::vector<std::function<void()>>& ops) {
  std::vector<std::exception_ptr> errors(ops.size());
  try {
    begin_batch();
  } catch (...) {
    errors.assign(ops.size(), std::current_exception());
    return errors;
  }
  for (std::size_t i = 0; i < ops.size(); ++i) errors[i] = run_in_batch(ops[i]);
  if (std::exception_ptr failure = commit_batch()) errors.assign(ops.size(), failure);
  return errors;
}

}  // namespace harness
