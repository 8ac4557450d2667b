#include "log/exec_event.h"

#include <gtest/gtest.h>

#include <string>

namespace harness {
namespace {

TEST(ClipForLog, KeepsShortInputWhole) {
  EXPECT_EQ(clip_for_log("hello"), "hello");
  EXPECT_EQ(clip_for_log(""), "");
  EXPECT_EQ(clip_for_log(std::string(4096, 'x')).size(), 4096u);
}

TEST(ClipForLog, CutsAsciiAtTheLimit) {
  EXPECT_EQ(clip_for_log(std::string(5000, 'x')), std::string(4096, 'x'));
  EXPECT_EQ(clip_for_log("abcdef", 3), "abc");
  EXPECT_EQ(clip_for_log("abcdef", 0), "");
}

TEST(ClipForLog, NeverSplitsAMultibyteSequence) {
  const std::string e_acute = "\xC3\xA9";        // 2 bytes
  const std::string euro = "\xE2\x82\xAC";       // 3 bytes
  const std::string emoji = "\xF0\x9F\x98\x80";  // 4 bytes
  // Every limit that falls inside a sequence backs up to the start of that sequence.
  for (const std::string& ch : {e_acute, euro, emoji}) {
    const std::string s = "ab" + ch + "cd";
    EXPECT_EQ(clip_for_log(s, 2), "ab");
    for (std::size_t limit = 3; limit < 2 + ch.size(); ++limit) {
      EXPECT_EQ(clip_for_log(s, limit), "ab") << ch.size() << "-byte char, limit " << limit;
    }
    EXPECT_EQ(clip_for_log(s, 2 + ch.size()), "ab" + ch);
  }
}

TEST(ClipForLog, DefaultLimitRespectsBoundaries) {
  std::string s(4095, 'x');
  s += "\xE2\x82\xAC";  // straddles byte 4096
  EXPECT_EQ(clip_for_log(s), std::string(4095, 'x'));
  std::string t;
  while (t.size() < 5000) t += "\xE2\x82\xAC";
  const std::string clipped = clip_for_log(t);
  EXPECT_LE(clipped.size(), 4096u);
  EXPECT_EQ(clipped.size() % 3, 0u);
  EXPECT_EQ(clipped, t.substr(0, clipped.size()));
}

TEST(ClipForLog, InvalidUtf8IsCutAtTheLimit) {
  // A run of continuation bytes has no boundary to find; do not back up without bound.
  const std::string s(100, '\x80');
  EXPECT_EQ(clip_for_log(s, 50).size(), 50u);
}

}  // namespace
}  // namespace harness
