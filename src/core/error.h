// The one error type of harness: a kind (for callers that branch on it) and a message
// written for the person reading it. Everything that fails throws harness::Error.
#pragma once

#include <stdexcept>
#include <string>

namespace harness {

class Error : public std::runtime_error {
 public:
  enum class Kind {
    kInvalidArgument,  // the caller sent something wrong; retrying will not help
    kNotFound,         // a named thing does not exist
    kConflict,         // the request is valid but the current state forbids it
    kIo,               // the operating system or the database failed
    kCorruption,       // stored data cannot be read back
  };

  Error(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}

  Kind kind() const { return kind_; }

  static Error invalid(const std::string& m) { return Error(Kind::kInvalidArgument, m); }
  static Error not_found(const std::string& m) { return Error(Kind::kNotFound, m); }
  static Error conflict(const std::string& m) { return Error(Kind::kConflict, m); }
  static Error io(const std::string& m) { return Error(Kind::kIo, m); }
  static Error corruption(const std::string& m) { return Error(Kind::kCorruption, m); }

  // An kIo error for a failed system call: "<what>: <strerror(errno)>".
  static Error from_errno(const std::string& what);

 private:
  Kind kind_;
};

}  // namespace harness
