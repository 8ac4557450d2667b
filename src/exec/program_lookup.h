// Finding the file a command name refers to, the way execvp(3) would, but with the PATH of
// the environment the child will get rather than the daemon's own.
#pragma once

#include <fcntl.h>

#include <optional>
#include <string>

namespace harness {

struct ProgramLookup {
  std::string path;  // what to hand to execve/posix_spawn; may be relative to `dir_fd`
  int error = 0;     // 0 when found; otherwise ENOENT or EACCES, as execvp would report
};

// A `name` containing '/' is returned unchanged (the exec itself reports any error). Otherwise
// each entry of `path_env` is tried in order (nullopt: the system default, normally
// "/bin:/usr/bin"; an empty entry: the current directory) and the first regular file we may
// execute wins. If none does, the error is EACCES when some candidate existed but was not
// executable, ENOENT otherwise. Relative candidates are checked against `dir_fd` (the working
// directory the child will have, or AT_FDCWD), so that they mean the same thing to the child.
ProgramLookup find_program(const std::string& name, const std::optional<std::string>& path_env,
                           int dir_fd = AT_FDCWD);

}  // namespace harness
