// Base64 (RFC 4648, standard alphabet, with padding): how exec and git replies carry output
// byte for byte when a client asks for it (docs/protocol.md, "exec and git").
#pragma once

#include <string>
#include <string_view>

namespace harness {

// Appends the encoding of `bytes` to `out`.
void append_base64(std::string& out, std::string_view bytes);
std::size_t base64_size(std::size_t bytes);  // how long the encoding of `bytes` bytes is

// The bytes `text` encodes. Throws Error::invalid when it is not padded base64.
std::string decode_base64(std::string_view text);

}  // namespace harness
