// The dashboard's access token: whoever has it may read the plan through `harness web`, and
// nobody else may (docs/web.md).
#pragma once

#include <string>
#include <string_view>

namespace harness {

// 32 lowercase hex digits: 128 bits from /dev/urandom. Throws Error when it cannot be read.
std::string make_access_token();

// Whether `given` is `expected`, in a time that does not depend on where they differ (only on
// their lengths), so that the token cannot be found a character at a time by timing.
bool token_matches(std::string_view given, std::string_view expected);

}  // namespace harness
