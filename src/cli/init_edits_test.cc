#include "cli/init_edits.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/json.h"

namespace harness {
namespace {

const std::filesystem::path kSettings = ".claude/settings.json";

// A user's settings with hooks of their own, as JSON.stringify(…, null, 2) writes it.
const std::string kUserSettings = R"json({
  "permissions": {
    "allow": [
      "Bash(make:*)"
    ]
  },
  "hooks": {
    "Stop": [
      {
        "matcher": "",
        "hooks": [
          {
            "type": "command",
            "command": "./scripts/notify.sh"
          }
        ]
      }
    ]
  },
  "model": "opus"
}
)json";

TEST(InitEdits, AddsTheHooksBesideTheUsersAndUndoesItExactly) {
  const FileText added = add_claude_settings(kUserSettings, kSettings, "harness");
  ASSERT_TRUE(added);
  const Json j = parse_json(*added);
  EXPECT_EQ(j["model"], "opus");
  EXPECT_EQ(j["enabledMcpjsonServers"], Json::array({"harness"}));
  EXPECT_EQ(j["permissions"]["allow"][0], "Bash(make:*)");
  ASSERT_EQ(j["hooks"]["Stop"].size(), 2u);
  EXPECT_EQ(j["hooks"]["Stop"][0]["hooks"][0]["command"], "./scripts/notify.sh");
  EXPECT_EQ(j["hooks"]["Stop"][1]["hooks"][0]["command"], "harness hook stop");
  for (const char* event : {"SessionStart", "SubagentStop", "PreCompact"})
    EXPECT_EQ(j["hooks"][event].size(), 1u) << event;
  EXPECT_EQ(added->rfind("{\n  \"permissions\": {\n    \"allow\"", 0), 0u);  // two-space style
  EXPECT_EQ(add_claude_settings(added, kSettings, "harness"), added);
  // A harness elsewhere on disk is the same hook.
  EXPECT_EQ(add_claude_settings(added, kSettings, "/opt/bin/harness"), added);
  EXPECT_EQ(remove_claude_settings(added, kSettings), kUserSettings);
  EXPECT_EQ(remove_claude_settings(kUserSettings, kSettings), kUserSettings);
}

TEST(InitEdits, NewFilesAndTheirRemoval) {
  const FileText created = add_claude_settings(std::nullopt, kSettings, "/a b/harness");
  ASSERT_TRUE(created);
  EXPECT_NE(created->find(R"("command": "'/a b/harness' hook session-start")"), std::string::npos)
      << *created;
  EXPECT_EQ(remove_claude_settings(created, kSettings), std::nullopt);
  const FileText mcp = add_mcp_server(std::nullopt, ".mcp.json", "harness");
  EXPECT_EQ(parse_json(*mcp)["mcpServers"]["harness"],
            parse_json(R"({"command": "harness", "args": ["mcp"]})"));
  EXPECT_EQ(remove_mcp_server(mcp, ".mcp.json"), std::nullopt);
}

TEST(InitEdits, KeepsTheFilesIndentAndOtherServers) {
  const std::string four =
      "{\n    \"mcpServers\": {\n        \"db\": {\n            \"command\": "
      "\"pg\"\n        }\n    }\n}";
  const FileText added = add_mcp_server(four, ".mcp.json", "harness");
  EXPECT_NE(added->find("\n        \"harness\": {\n            \"command\""), std::string::npos)
      << *added;
  EXPECT_EQ(remove_mcp_server(added, ".mcp.json"), four);
  const std::string one_line = R"({"mcpServers":{"harness":{"command":"mine"}}})";
  EXPECT_EQ(add_mcp_server(one_line, ".mcp.json", "harness"), one_line);  // theirs: left alone
  EXPECT_EQ(remove_mcp_server(one_line, ".mcp.json"), one_line);
}

TEST(InitEdits, MalformedJsonNamesTheFileAndLine) {
  try {
    add_claude_settings(std::string("{\n  \"a\": 1,\n  oops\n}\n"), kSettings, "harness");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(".claude/settings.json: line 3"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(add_claude_settings(std::string("[]"), kSettings, "harness"), Error);
  EXPECT_THROW(add_claude_settings(std::string(R"({"hooks": []})"), kSettings, "harness"), Error);
  EXPECT_THROW(add_claude_settings(std::string(R"({"hooks": {"Stop": {}}})"), kSettings, "h"),
               Error);
}

TEST(InitEdits, MarkedBlocksComeAndGo) {
  const std::string begin = "<!-- b -->", end = "<!-- e -->";
  const std::string mine = "# Project\n\nNotes.\n";
  const FileText added = add_marked_block(mine, begin, end, "loop\n");
  EXPECT_EQ(*added, mine + "\n" + begin + "\nloop\n" + end + "\n");
  EXPECT_EQ(add_marked_block(added, begin, end, "other\n"), added);
  EXPECT_EQ(remove_marked_block(added, begin, end), mine);
  EXPECT_EQ(remove_marked_block(add_marked_block(std::nullopt, begin, end, "x\n"), begin, end),
            std::nullopt);
  EXPECT_EQ(remove_marked_block(mine, begin, end), mine);
}

TEST(InitEdits, CodexServerIsATomlTable) {
  const std::string config = "model = \"o3\"\n";
  const FileText added = add_codex_server(config, "/x/harness");
  EXPECT_NE(added->find("[mcp_servers.harness]\ncommand = \"/x/harness\"\nargs = [\"mcp\"]\n"),
            std::string::npos);
  EXPECT_EQ(add_codex_server(added, "/x/harness"), added);
  const std::string theirs = "[mcp_servers.harness]\ncommand = \"mine\"\n";
  EXPECT_EQ(add_codex_server(theirs, "harness"), theirs);
}

}  // namespace
}  // namespace harness
