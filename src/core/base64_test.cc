#include "core/base64.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace harness {
namespace {

std::string encode(std::string_view bytes) {
  std::string out;
  append_base64(out, bytes);
  return out;
}

TEST(Base64, EncodesTheRfc4648Vectors) {
  EXPECT_EQ(encode(""), "");
  EXPECT_EQ(encode("f"), "Zg==");
  EXPECT_EQ(encode("fo"), "Zm8=");
  EXPECT_EQ(encode("foo"), "Zm9v");
  EXPECT_EQ(encode("foob"), "Zm9vYg==");
  EXPECT_EQ(encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_size(6), 8u);
  EXPECT_EQ(base64_size(7), 12u);
}

TEST(Base64, EveryByteValueSurvivesTheRoundTrip) {
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  for (std::size_t cut = 0; cut < 4; ++cut) {
    const std::string bytes = all.substr(cut);
    EXPECT_EQ(decode_base64(encode(bytes)), bytes);
  }
}

TEST(Base64, RefusesWhatIsNotBase64) {
  EXPECT_THROW(decode_base64("Zg="), Error);
  EXPECT_THROW(decode_base64("Z!=="), Error);
  EXPECT_THROW(decode_base64("Zg==Zg=="), Error);  // padding only at the end
}

}  // namespace
}  // namespace harness
