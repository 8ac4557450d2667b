#include "protocol/reply_encoder.h"

#include <gtest/gtest.h>

#include <climits>
#include <cstdint>
#include <random>

#include "core/base64.h"
#include "core/json.h"
#include "protocol/envelope.h"

namespace harness {
namespace {

// The reply as the general encoder builds it: a JSON document dumped with invalid UTF-8
// replaced. command_reply must produce the same bytes whenever it cuts nothing.
std::string general_reply(const CommandResponse& r) {
  Json data{{"returncode", r.returncode}, {"stdout", r.stdout_bytes}, {"stderr", r.stderr_bytes}};
  if (r.signal_name) data["signal_name"] = *r.signal_name;
  data["duration_ms"] = r.duration_ms;
  data["timed_out"] = r.timed_out;
  data["truncated"] = r.truncated;
  return ok_reply(data);
}

// Text that exercises every branch of the encoder: plain runs, escapes, control bytes,
// well-formed multibyte characters, and ill-formed, truncated and stray bytes.
std::string random_output(std::mt19937& rng, std::size_t pieces) {
  static const std::vector<std::string> kPieces{"plain text ",
                                                "\"",
                                                "\\",
                                                "\n",
                                                "\t",
                                                "\r",
                                                "\b",
                                                "\f",
                                                std::string(1, '\0'),
                                                "\x01",
                                                "\x1f",
                                                "\x7f",
                                                "\xC3\xA9",
                                                "\xE2\x82\xAC",
                                                "\xF0\x9F\x98\x80",
                                                "\xED\x9F\xBF",
                                                "\xEF\xBF\xBD",
                                                "\xF4\x8F\xBF\xBF",
                                                "\xC3",          // truncated
                                                "\xE2\x82",      // truncated
                                                "\xF0\x9F\x98",  // truncated
                                                "\x80",
                                                "\xBF",              // stray continuation bytes
                                                "\xC0\xAF",          // overlong
                                                "\xE0\x80\xAF",      // overlong
                                                "\xED\xA0\x80",      // surrogate
                                                "\xF4\x90\x80\x80",  // above U+10FFFF
                                                "\xF5",
                                                "\xFF"};
  std::string text;
  for (std::size_t i = 0; i < pieces; ++i) {
    text += kPieces[rng() % kPieces.size()];
    if (rng() % 4 == 0) text += static_cast<char>(rng() % 256);
  }
  return text;
}

std::string encoded(std::string_view text, std::size_t budget = SIZE_MAX) {
  std::string out;
  append_json_text(out, text, budget);
  return out;
}

TEST(CommandReply, MatchesTheGeneralEncoderWhenNothingIsCut) {
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    CommandResponse r;
    r.returncode = static_cast<int>(rng() % 512) - 256;
    r.stdout_bytes = random_output(rng, rng() % 40);
    r.stderr_bytes = random_output(rng, rng() % 10);
    if (i % 3 == 0) r.signal_name = "SIGTERM";
    r.duration_ms = rng();
    r.timed_out = i % 5 == 0;
    r.truncated = i % 7 == 0;
    ASSERT_EQ(command_reply(r), general_reply(r)) << "case " << i;
  }
}

TEST(CommandReply, EscapesAsTheProtocolDoes) {
  EXPECT_EQ(encoded("a\"b\\c\n\t\r\b\f"), R"(a\"b\\c\n\t\r\b\f)");
  EXPECT_EQ(encoded(std::string("\0\x01\x1f\x7f", 4)), "\\u0000\\u0001\\u001f\x7f");
  EXPECT_EQ(encoded("caf\xC3\xA9 \xF0\x9F\x98\x80"), "caf\xC3\xA9 \xF0\x9F\x98\x80");
}

TEST(CommandReply, ReplacesEachIllFormedSubsequenceOnce) {
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(encoded("a\xFF"
                    "b"),
            "a" + fffd + "b");
  EXPECT_EQ(encoded("\xE2\x82"), fffd);                    // a truncated sequence is one character
  EXPECT_EQ(encoded("\xF0\x9F\x98x"), fffd + "x");         // ... also before another character
  EXPECT_EQ(encoded("\xE0\x80"), fffd + fffd);             // E0 80 starts no sequence: two
  EXPECT_EQ(encoded("\xED\xA0\x80"), fffd + fffd + fffd);  // a surrogate is three
}

TEST(CommandReply, CutsBeforeTheFirstCharacterThatDoesNotFit) {
  std::mt19937 rng(11);
  for (int i = 0; i < 200; ++i) {
    const std::string text = random_output(rng, 30);
    const std::string whole = encoded(text);
    for (std::size_t budget = 0; budget <= whole.size(); ++budget) {
      std::string out;
      const bool complete = append_json_text(out, text, budget);
      ASSERT_LE(out.size(), budget);
      ASSERT_EQ(whole.compare(0, out.size(), out), 0) << "not a prefix at budget " << budget;
      ASSERT_EQ(complete, out == whole);
      // Nothing that would fit was left out (one character encodes to at most six bytes),
      // and the cut ends neither inside an escape nor inside a UTF-8 sequence.
      if (!complete) {
        ASSERT_GT(out.size() + 6, budget);
      }
      ASSERT_NO_THROW(parse_json("\"" + out + "\"")) << "budget " << budget;
    }
  }
}

TEST(CommandReply, ControlBytesAreCappedByTheirEncodedSize) {
  CommandResponse r;
  r.stdout_bytes = std::string(1000, '\0');  // 6000 bytes encoded
  r.stderr_bytes = std::string(1000, 'e');
  const Json reply = parse_json(command_reply(r, 600));
  EXPECT_EQ(reply["data"]["stdout"], std::string(100, '\0'));
  EXPECT_EQ(reply["data"]["stderr"], std::string(600, 'e'));
  EXPECT_EQ(reply["data"]["truncated"], true);
}

TEST(CommandReply, OutputThatFitsExactlyIsNotTruncated) {
  CommandResponse r;
  r.stdout_bytes = std::string(100, '\0');
  r.stderr_bytes = std::string(600, 'e');
  const Json reply = parse_json(command_reply(r, 600));
  EXPECT_EQ(reply["data"]["stdout"], r.stdout_bytes);
  EXPECT_EQ(reply["data"]["stderr"], r.stderr_bytes);
  EXPECT_EQ(reply["data"]["truncated"], false);
}

TEST(CommandReply, OutputCutAtCaptureStaysTruncated) {
  CommandResponse r;
  r.stdout_bytes = "short";
  r.truncated = true;
  EXPECT_EQ(parse_json(command_reply(r))["data"]["truncated"], true);
}

TEST(CommandReply, Base64CarriesEveryByteWhole) {
  CommandResponse r;
  r.returncode = -15;
  r.signal_name = "SIGTERM";
  for (int b = 0; b < 256; ++b) r.stdout_bytes += static_cast<char>(b);
  r.stderr_bytes = "\xff\xfe";
  r.truncated = true;
  const Json data = parse_json(command_reply_base64(r))["data"];
  EXPECT_EQ(data["encoding"], "base64");
  EXPECT_EQ(decode_base64(data["stdout"].get<std::string>()), r.stdout_bytes);
  EXPECT_EQ(decode_base64(data["stderr"].get<std::string>()), r.stderr_bytes);
  EXPECT_EQ(data["truncated"], true);
  EXPECT_EQ(data["signal_name"], "SIGTERM");
  EXPECT_EQ(data["returncode"], -15);
}

TEST(CommandReply, TheLineStaysWithinItsBoundWithRoomForTheNewline) {
  constexpr std::size_t kCap = 1000;
  CommandResponse r;  // every field at its longest
  r.returncode = INT_MIN;
  r.duration_ms = INT64_MIN;
  r.signal_name = std::string(500, '\x01');
  r.timed_out = false;
  r.stdout_bytes = std::string(4000, '\0');
  r.stderr_bytes = std::string(4000, '"');
  const std::string line = command_reply(r, kCap);
  EXPECT_LE(line.size(), 2 * kCap + kCommandReplyOverhead);
  EXPECT_GT(line.capacity(), line.size());
  EXPECT_NO_THROW(parse_json(line));
}

}  // namespace
}  // namespace harness
