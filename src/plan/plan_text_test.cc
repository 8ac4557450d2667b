#include "plan/plan_text.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace harness {
namespace {

std::vector<bool> code_of(std::string_view text) {
  std::vector<bool> out;
  for (const MarkdownLine& line : markdown_lines(text)) out.push_back(line.in_code);
  return out;
}

TEST(PlanText, LinesAreNumberedWithoutLineBreaks) {
  const auto lines = markdown_lines("a\r\nb\n\nc");
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0].text, "a");
  EXPECT_EQ(lines[3].text, "c");
  EXPECT_EQ(lines[3].number, 4u);
}

TEST(PlanText, FencedBlocksIncludeTheirFences) {
  EXPECT_EQ(code_of("a\n```\nb\n```\nc"), (std::vector<bool>{false, true, true, true, false}));
  EXPECT_EQ(code_of("~~~~\n~~~\n~~~~\nx"), (std::vector<bool>{true, true, true, false}));
  EXPECT_EQ(code_of("```a```\nx"), (std::vector<bool>{false, false}));  // inline code
}

TEST(PlanText, AFenceWithAnInfoStringNestsInsideABlock) {
  EXPECT_EQ(code_of("```md\n```py\nx\n```\ny\n```\nz"),
            (std::vector<bool>{true, true, true, true, true, true, false}));
}

TEST(PlanText, Headings) {
  EXPECT_EQ(heading_of("## Title ##")->text, "Title");
  EXPECT_EQ(heading_of("   ### C#")->text, "C#");
  EXPECT_EQ(heading_of("## Title")->level, 2);
  EXPECT_FALSE(heading_of("    ## indented code").has_value());
  EXPECT_FALSE(heading_of("#hashtag").has_value());
  EXPECT_FALSE(heading_of("####### seven").has_value());
}

TEST(PlanText, TextThatIsNotUtf8IsRefusedNamingLineAndColumn) {
  EXPECT_NO_THROW(require_utf8("caf\xC3\xA9\n", "p"));
  try {
    require_utf8("ok\ncaf\xE9 au lait\n", "p");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "p line 2: expected UTF-8 text, found the byte 0xE9 at column 4");
  }
  EXPECT_THROW(require_utf8(std::string_view("a\0b", 3), "p"), Error);
}

}  // namespace
}  // namespace harness
