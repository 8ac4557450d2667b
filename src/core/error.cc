#include "core/error.h"

#include <cerrno>
#include <cstring>

namespace harness {

Error Error::from_errno(const std::string& what) {
  return Error(Kind::kIo, what + ": " + std::strerror(errno));
}

}  // namespace harness
