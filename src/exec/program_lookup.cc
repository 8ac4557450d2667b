#include "exec/program_lookup.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>

namespace harness {

namespace {

std::string default_path() {
  char buf[256];
  const size_t n = confstr(_CS_PATH, buf, sizeof buf);
  if (n == 0 || n > sizeof buf) return "/bin:/usr/bin";
  return buf;
}

enum class Candidate { kRunnable, kMissing, kNotRunnable };

Candidate classify(const std::string& path, int dir_fd) {
  struct stat st;
  if (fstatat(dir_fd, path.c_str(), &st, 0) != 0) {
    return errno == EACCES ? Candidate::kNotRunnable : Candidate::kMissing;
  }
  if (!S_ISREG(st.st_mode)) return Candidate::kNotRunnable;
  if (faccessat(dir_fd, path.c_str(), X_OK, AT_EACCESS) != 0) return Candidate::kNotRunnable;
  return Candidate::kRunnable;
}

}  // namespace

ProgramLookup find_program(const std::string& name, const std::optional<std::string>& path_env,
                           int dir_fd) {
  if (name.empty()) return {"", ENOENT};
  if (name.find('/') != std::string::npos) return {name, 0};

  const std::string search = path_env ? *path_env : default_path();
  bool saw_unrunnable = false;
  std::string_view rest = search;
  while (true) {
    const size_t colon = rest.find(':');
    const std::string_view dir = rest.substr(0, colon);
    // An empty entry means the current directory, as in execvp.
    std::string candidate = dir.empty() ? "./" + name : std::string(dir) + "/" + name;
    switch (classify(candidate, dir_fd)) {
      case Candidate::kRunnable:
        return {std::move(candidate), 0};
      case Candidate::kNotRunnable:
        saw_unrunnable = true;
        break;
      case Candidate::kMissing:
        break;
    }
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  return {"", saw_unrunnable ? EACCES : ENOENT};
}

}  // namespace harness
