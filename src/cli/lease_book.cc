#include "cli/lease_book.h"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/json.h"
#include "core/posix.h"

namespace harness {

namespace {

// A worker id as a file name: letters, digits, '-', '_' and '.' as they are (not a leading
// '.'), every other byte as %XX.
std::string file_name_of(const std::string& worker) {
  std::string name;
  for (const unsigned char c : worker) {
    const bool plain = std::isalnum(c) || c == '-' || c == '_' || (c == '.' && !name.empty());
    if (plain) {
      name += static_cast<char>(c);
    } else {
      char escaped[4];
      std::snprintf(escaped, sizeof escaped, "%%%02X", c);
      name += escaped;
    }
  }
  return name + ".json";
}

}  // namespace

LeaseBook::LeaseBook(std::filesystem::path dir) : dir_(std::move(dir)) {}

std::filesystem::path LeaseBook::file_of(const std::string& worker) const {
  return dir_ / file_name_of(worker);
}

std::optional<std::string> LeaseBook::lease_of(const std::string& worker,
                                               const std::string& task_id) const {
  std::ifstream in(file_of(worker));
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  try {
    const Json kept = Json::parse(text.str());
    if (kept.at("task_id") != task_id) return std::nullopt;
    return kept.at("lease").get<std::string>();
  } catch (const Json::exception&) {
    return std::nullopt;  // a damaged file: send no token, as clients without one do
  }
}

void LeaseBook::remember(const std::string& worker, const std::string& task_id,
                         const std::string& lease) {
  if (ensure_private_dir(dir_, MissingParents::kCreate) == DirState::kNotADirectory)
    throw Error::invalid(dir_.string() + " is not a directory");
  const std::filesystem::path file = file_of(worker);
  const std::filesystem::path temp = file.string() + ".new-" + std::to_string(::getpid());
  const UniqueFd out(
      ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out) throw Error::from_errno("cannot write " + temp.string());
  const std::string text = Json{{"task_id", task_id}, {"lease", lease}}.dump() + "\n";
  if (write_all(out.get(), text) != text.size()) {
    const int error = errno;
    ::unlink(temp.c_str());
    errno = error;
    throw Error::from_errno("cannot write " + temp.string());
  }
  if (::rename(temp.c_str(), file.c_str()) != 0) {
    ::unlink(temp.c_str());
    throw Error::from_errno("cannot write " + file.string());
  }
}

void LeaseBook::forget(const std::string& worker, const std::string& task_id) {
  if (lease_of(worker, task_id)) ::unlink(file_of(worker).c_str());
}

}  // namespace harness
