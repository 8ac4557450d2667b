// The lease tokens the CLI keeps for its workers (DESIGN §2b): a claim's token is written next
// to the worker's state, and every later change that worker makes to that task sends it, so that
// an agent never handles a token, and one restarted under its old name after its task passed to
// someone else is refused ("lease superseded") instead of completing work it no longer holds.
// One small file per worker in the state directory; each write replaces it atomically.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace harness {

class LeaseBook {
 public:
  // `dir`: where the files live (created, private, when first written).
  explicit LeaseBook(std::filesystem::path dir);

  // The token kept for `worker`'s claim of `task_id`, if any.
  std::optional<std::string> lease_of(const std::string& worker, const std::string& task_id) const;
  // Keeps `lease` as `worker`'s token for `task_id` (a worker holds one task at a time).
  void remember(const std::string& worker, const std::string& task_id, const std::string& lease);
  // Drops what is kept for `worker` when it is for `task_id`.
  void forget(const std::string& worker, const std::string& task_id);

 private:
  std::filesystem::path file_of(const std::string& worker) const;
  std::filesystem::path dir_;
};

}  // namespace harness
