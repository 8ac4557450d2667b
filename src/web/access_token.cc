#include "web/access_token.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <unistd.h>

#include <array>
#include <cstdint>

#include "core/error.h"
#include "core/posix.h"

namespace harness {

std::string make_access_token() {
  std::array<std::uint8_t, 16> bytes{};
  UniqueFd urandom(::open("/dev/urandom", O_RDONLY | O_CLOEXEC));
  if (!urandom) throw Error::from_errno("cannot open /dev/urandom");
  std::size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = ::read(urandom.get(), bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Error::from_errno("cannot read /dev/urandom");
    got += static_cast<std::size_t>(n);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token;
  for (std::uint8_t b : bytes) {
    token += kHex[b >> 4];
    token += kHex[b & 0xF];
  }
  return token;
}

bool token_matches(std::string_view given, std::string_view expected) {
  if (given.size() != expected.size() || expected.empty()) return false;
  return CRYPTO_memcmp(given.data(), expected.data(), expected.size()) == 0;
}

}  // namespace harness
