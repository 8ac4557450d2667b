#include "core/plan_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"
#include "core/json.h"
#include "core/posix.h"
#include "core/workflow.h"

namespace harness {

namespace {

const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

[[noreturn]] void refuse(const std::string& file, const std::string& problem) {
  throw Error::invalid("plan file " + file + ": " + problem);
}

}  // namespace

std::string read_plan_file_text(const std::string& file, std::size_t max_bytes) {
  if (file.find('\0') != std::string::npos) refuse(file, "the path contains a NUL byte");
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever.
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fd) refuse(file, std::strerror(errno));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) refuse(file, std::strerror(errno));
  if (!S_ISREG(st.st_mode))
    refuse(file, std::string("is ") + kind_of(st.st_mode) + ", not a regular file");
  const auto too_large = [&] {
    refuse(file, "is larger than " + std::to_string(max_bytes) + " bytes");
  };
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes) too_large();
  // The size is only a hint (the file may grow, /proc files say 0): read to the end, up to the cap.
  std::string text;
  text.resize(static_cast<std::size_t>(st.st_size) + 1);
  std::size_t got = 0;
  for (;;) {
    if (got == text.size()) {
      if (got > max_bytes) too_large();
      text.resize(std::min(max_bytes + 1, std::max<std::size_t>(2 * got, 4096)));
    }
    const ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) refuse(file, std::strerror(errno));
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got > max_bytes) too_large();
  text.resize(got);
  return text;
}

Workflow read_plan_file(const std::string& file, const PlanParser& parse) {
  const std::string text = read_plan_file_text(file);
  try {
    Workflow workflow = parse ? parse(text) : workflow_from_json(parse_json(text));
    validate_workflow(workflow);
    return workflow;
  } catch (const Error& e) {
    if (text.empty()) refuse(file, "the file is empty");
    refuse(file, e.what());
  }
}

}  // namespace harness
