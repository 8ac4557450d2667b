#include "cli/mcp_jsonrpc.h"

#include <gtest/gtest.h>

namespace harness {
namespace {

JsonRpcFailure failure_of(std::string_view line) {
  const JsonRpcMessage m = parse_jsonrpc_line(line);
  EXPECT_TRUE(std::holds_alternative<JsonRpcFailure>(m)) << line;
  return std::holds_alternative<JsonRpcFailure>(m) ? std::get<JsonRpcFailure>(m) : JsonRpcFailure{};
}

TEST(JsonRpc, ReadsRequestsAndNotifications) {
  const auto request = std::get<JsonRpcCall>(
      parse_jsonrpc_line(R"({"jsonrpc":"2.0","id":7,"method":"tools/list","params":{}})"));
  EXPECT_EQ(request.id, Json(7));
  EXPECT_EQ(request.method, "tools/list");
  EXPECT_FALSE(request.is_notification());
  const auto note = std::get<JsonRpcCall>(
      parse_jsonrpc_line(R"({"jsonrpc":"2.0","method":"notifications/initialized"})"));
  EXPECT_TRUE(note.is_notification());
  EXPECT_TRUE(note.params.is_null());
  const auto string_id =
      std::get<JsonRpcCall>(parse_jsonrpc_line(R"({"jsonrpc":"2.0","id":"a","method":"ping"})"));
  EXPECT_EQ(string_id.id, Json("a"));
}

TEST(JsonRpc, IgnoresResponsesAndBlankLines) {
  EXPECT_TRUE(std::holds_alternative<JsonRpcIgnored>(parse_jsonrpc_line("  ")));
  EXPECT_TRUE(std::holds_alternative<JsonRpcIgnored>(
      parse_jsonrpc_line(R"({"jsonrpc":"2.0","id":1,"result":{}})")));
}

TEST(JsonRpc, RefusesWhatIsNotARequest) {
  EXPECT_EQ(failure_of("{nope").code, JsonRpcCode::kParseError);
  EXPECT_TRUE(failure_of("{nope").id.is_null());
  EXPECT_EQ(failure_of(R"([{"jsonrpc":"2.0","id":1,"method":"ping"}])").code,
            JsonRpcCode::kInvalidRequest);
  const JsonRpcFailure version = failure_of(R"({"jsonrpc":"1.0","id":3,"method":"ping"})");
  EXPECT_EQ(version.code, JsonRpcCode::kInvalidRequest);
  EXPECT_EQ(version.id, Json(3));
  EXPECT_EQ(failure_of(R"({"jsonrpc":"2.0","id":3,"method":5})").code,
            JsonRpcCode::kInvalidRequest);
  EXPECT_EQ(failure_of(R"({"jsonrpc":"2.0","id":3,"method":"ping","params":[1]})").code,
            JsonRpcCode::kInvalidRequest);
  EXPECT_EQ(failure_of(R"({"jsonrpc":"2.0","id":{},"method":"ping"})").code,
            JsonRpcCode::kInvalidRequest);
}

TEST(JsonRpc, WritesOneLineReplies) {
  EXPECT_EQ(jsonrpc_result(1, Json::object()), R"({"jsonrpc":"2.0","id":1,"result":{}})");
  EXPECT_EQ(
      jsonrpc_error(nullptr, JsonRpcCode::kMethodNotFound, "Method not found: x"),
      R"({"jsonrpc":"2.0","id":null,"error":{"code":-32601,"message":"Method not found: x"}})");
  EXPECT_EQ(jsonrpc_result("a", Json("x\ny")).find('\n'), std::string::npos);
}

}  // namespace
}  // namespace harness
