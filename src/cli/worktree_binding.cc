#include "cli/worktree_binding.h"

#include <unistd.h>

#include <fstream>
#include <string>

#include "core/error.h"
#include "store/state_dir.h"

namespace harness {

namespace fs = std::filesystem;

namespace {

// Bindings are made to a plan's own worktree; a chain longer than this loops.
constexpr int kMaxBindingHops = 8;

}  // namespace

fs::path binding_file(const fs::path& checkout) { return state_dir(checkout) / "bound-to"; }

std::optional<fs::path> bound_to(const fs::path& checkout) {
  const fs::path file = binding_file(checkout);
  std::error_code error;
  if (!fs::exists(file, error)) return std::nullopt;
  std::ifstream in(file);
  std::string line;
  if (!in || !std::getline(in, line) || line.empty() || line.front() != '/')
    throw Error::io("cannot read the worktree binding " + file.string() +
                    ": it should hold the absolute path of a worktree; remove it (`harness "
                    "worktree unbind`) or write one");
  return fs::path(line);
}

fs::path plan_worktree_of(const fs::path& checkout) {
  fs::path current = checkout;
  for (int hop = 0; hop < kMaxBindingHops; ++hop) {
    const std::optional<fs::path> target = bound_to(current);
    if (!target) return current;
    std::error_code error;
    if (!fs::is_directory(*target, error))
      throw Error::not_found("the worktree " + current.string() + " is bound to the plan of " +
                             target->string() + ", which no longer exists (" +
                             binding_file(current).string() + "); unbind it with `harness " +
                             "worktree unbind " + current.string() + "` or bind it to another");
    current = *target;
  }
  throw Error::invalid("the worktree bindings from " + checkout.string() +
                       " loop; unbind one with `harness worktree unbind`");
}

void write_binding(const fs::path& checkout, const fs::path& plan_worktree) {
  ensure_state_dir(checkout);
  const fs::path file = binding_file(checkout);
  const fs::path temp = file.string() + ".new-" + std::to_string(::getpid());
  {
    std::ofstream out(temp, std::ios::trunc);
    out << plan_worktree.string() << "\n";
    if (!out.flush()) throw Error::io("cannot write " + temp.string());
  }
  std::error_code error;
  fs::rename(temp, file, error);
  if (error) {
    fs::remove(temp, error);
    throw Error::io("cannot write " + file.string());
  }
}

bool remove_binding(const fs::path& checkout) {
  std::error_code error;
  const bool removed = fs::remove(binding_file(checkout), error);
  if (error)
    throw Error::io("cannot remove " + binding_file(checkout).string() + ": " + error.message());
  return removed;
}

}  // namespace harness
