#include "web/access_token.h"

#include <gtest/gtest.h>

#include <set>

namespace harness {
namespace {

TEST(AccessTokenTest, Is128BitsOfHexAndNeverRepeats) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const std::string token = make_access_token();
    EXPECT_EQ(token.size(), 32u);
    EXPECT_EQ(token.find_first_not_of("0123456789abcdef"), std::string::npos);
    EXPECT_TRUE(seen.insert(token).second);
  }
}

TEST(AccessTokenTest, MatchesOnlyTheWholeToken) {
  const std::string token = make_access_token();
  EXPECT_TRUE(token_matches(token, token));
  EXPECT_FALSE(token_matches(token.substr(1), token));
  EXPECT_FALSE(token_matches(token + "0", token));
  EXPECT_FALSE(token_matches("", token));
  EXPECT_FALSE(token_matches("", ""));  // an empty expected token lets nobody in
  std::string other = token;
  other.back() = other.back() == '0' ? '1' : '0';
  EXPECT_FALSE(token_matches(other, token));
}

}  // namespace
}  // namespace harness
