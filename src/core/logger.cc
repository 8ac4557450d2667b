#include "core/logger.h"

#include <spdlog/logger.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <memory>

namespace harness {
namespace {

// Made on first use, so a CLI call that logs nothing never sets it up; not in spdlog's global
// registry, which nothing here needs.
spdlog::logger& daemon_log() {
  static spdlog::logger* const logger = [] {
    auto* made = new spdlog::logger("harness", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    made->set_pattern("%Y-%m-%dT%H:%M:%S.%f+00:00 %n[%P] %l: %v", spdlog::pattern_time_type::utc);
    made->flush_on(spdlog::level::trace);  // every line: a daemon may be killed at any time
    return made;
  }();  // never destroyed: threads may still log while the process exits
  return *logger;
}

void write(spdlog::level::level_enum level, std::string_view message, std::string_view reason) {
  try {
    if (reason.empty())
      daemon_log().log(level, message);
    else
      daemon_log().log(level, "{}: {}", message, reason);
  } catch (...) {  // e.g. bad_alloc: the line is lost, the daemon goes on
  }
}

}  // namespace

void log_info(std::string_view message, std::string_view reason) {
  write(spdlog::level::info, message, reason);
}
void log_warning(std::string_view message, std::string_view reason) {
  write(spdlog::level::warn, message, reason);
}
void log_error(std::string_view message, std::string_view reason) {
  write(spdlog::level::err, message, reason);
}

}  // namespace harness
