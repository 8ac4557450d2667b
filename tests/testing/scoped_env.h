// Process-wide settings a test changes for its own scope and puts back when it ends: an
// environment variable, the umask.
#pragma once

#include <stdlib.h>
#include <sys/stat.h>

#include <optional>
#include <string>

namespace harness::test_support {

// Sets (or, with nullopt, unsets) an environment variable for the scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = ::getenv(name)) old_ = old;
    set(name_, value);
  }
  ~ScopedEnv() { set(name_, old_); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  static void set(const char* name, const std::optional<std::string>& value) {
    if (value) {
      ::setenv(name, value->c_str(), 1);
    } else {
      ::unsetenv(name);
    }
  }

  const char* name_;
  std::optional<std::string> old_;
};

// Sets the umask for the scope (child processes inherit it), so that a test sees the modes
// the code asks for.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(old_); }
  ScopedUmask(const ScopedUmask&) = delete;
  ScopedUmask& operator=(const ScopedUmask&) = delete;

 private:
  mode_t old_;
};

}  // namespace harness::test_support
