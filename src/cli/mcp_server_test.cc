#include "cli/mcp_server.h"

#include <gtest/gtest.h>

#include <deque>
#include <vector>

#include "core/error.h"
#include "testing/temp_dir.h"

namespace harness {
namespace {

using test_support::TempDir;

// A daemon that answers each request line with the next scripted reply and keeps the lines.
struct FakeDaemon {
  std::deque<std::string> replies;
  std::vector<Json> requests;
  std::string answer(std::string_view line) {
    requests.push_back(Json::parse(line));
    if (replies.empty()) throw Error::io("the daemon went away");
    std::string reply = replies.front();
    replies.pop_front();
    return reply;
  }
};

constexpr const char* kClaimReply =
    R"({"status":"ok","data":{"task":{"id":"a","description":"parse","status":"running"},"is_retry":false,"is_reclaim":false,"plan_complete":false,"lease":"L1","attempt":1,"lease_expires_at":null}})";

class McpServerTest : public ::testing::Test {
 protected:
  McpServerTest() : server_(options()) {}

  McpServerOptions options(std::optional<std::string> configured = std::nullopt) {
    McpServerOptions o;
    o.daemon = [this](std::string_view line) { return daemon_.answer(line); };
    o.head = [] { return std::optional<std::string>("c0ffee"); };
    o.cwd = "/work";
    o.lease_dir = dir_.path() / "leases";
    o.configured_worker = std::move(configured);
    o.process_tag = "42-abcdef01";
    o.version = "9.9";
    o.on_worker = [this](const std::string& w) { recorded_.push_back(w); };
    return o;
  }

  Json send(const std::string& method, const Json& params, McpServer* server = nullptr) {
    Json request{{"jsonrpc", "2.0"}, {"id", ++id_}, {"method", method}, {"params", params}};
    const auto reply = (server ? *server : server_).handle_line(request.dump());
    EXPECT_TRUE(reply.has_value());
    return reply ? Json::parse(*reply) : Json();
  }
  Json initialize(const std::string& version = "2025-06-18", McpServer* server = nullptr) {
    return send("initialize",
                {{"protocolVersion", version},
                 {"capabilities", Json::object()},
                 {"clientInfo", {{"name", "Test Client"}, {"version", "1"}}}},
                server);
  }
  Json call(const std::string& tool, const Json& arguments) {
    return send("tools/call", {{"name", tool}, {"arguments", arguments}});
  }

  TempDir dir_;
  FakeDaemon daemon_;
  std::vector<std::string> recorded_;
  McpServer server_;
  int id_ = 0;
};

TEST(McpVersion, AnswersTheClientsVersionWhenSupportedElseTheLatest) {
  EXPECT_EQ(negotiate_mcp_version("2025-06-18"), "2025-06-18");
  EXPECT_EQ(negotiate_mcp_version("2024-11-05"), "2024-11-05");
  EXPECT_EQ(negotiate_mcp_version("2099-01-01"), kMcpProtocolVersions.front());
}

TEST_F(McpServerTest, InitializeNegotiatesAndFixesTheWorker) {
  const Json reply = initialize("2025-06-18");
  EXPECT_EQ(reply["id"], 1);
  const Json& result = reply["result"];
  EXPECT_EQ(result["protocolVersion"], "2025-06-18");
  EXPECT_EQ(result["serverInfo"]["name"], "harness");
  EXPECT_EQ(result["serverInfo"]["version"], "9.9");
  EXPECT_TRUE(result["capabilities"].contains("tools"));
  EXPECT_EQ(server_.worker_id(), "mcp-test_client-42-abcdef01");
  EXPECT_EQ(recorded_, std::vector<std::string>{"mcp-test_client-42-abcdef01"});
  EXPECT_EQ(initialize("1999-01-01")["result"]["protocolVersion"], kMcpProtocolVersions.front());
}

TEST_F(McpServerTest, AConfiguredWorkerIdWins) {
  McpServer server(options("alice"));
  initialize("2025-06-18", &server);
  EXPECT_EQ(server.worker_id(), "alice");
}

TEST_F(McpServerTest, NotificationsAreNeverAnswered) {
  EXPECT_EQ(server_.handle_line(R"({"jsonrpc":"2.0","method":"notifications/initialized"})"),
            std::nullopt);
  EXPECT_EQ(server_.handle_line(R"({"jsonrpc":"2.0","method":"no/such/thing"})"), std::nullopt);
  EXPECT_EQ(server_.handle_line(R"({"jsonrpc":"2.0","method":"notifications/cancelled",
      "params":{"requestId":1}})"),
            std::nullopt);
}

TEST_F(McpServerTest, ProtocolErrors) {
  EXPECT_EQ(send("ping", Json::object())["result"], Json::object());
  EXPECT_EQ(send("resources/list", Json::object())["error"]["code"], -32601);
  EXPECT_EQ(send("initialize", Json::object())["error"]["code"], -32602);
  EXPECT_EQ(call("nope", Json::object())["error"]["code"], -32602);
  EXPECT_EQ(call("claim", {{"wait", "soon"}})["error"]["code"], -32602);
  EXPECT_EQ(call("claim", {{"worker_id", "x"}})["error"]["code"], -32602);
  EXPECT_EQ(call("fail", Json::object())["error"]["code"], -32602);
  EXPECT_EQ(call("add", {{"id", "x"}})["error"]["code"], -32602);
  EXPECT_TRUE(daemon_.requests.empty());  // nothing was sent for any of them
  const Json parse = Json::parse(*server_.handle_line("{oops"));
  EXPECT_EQ(parse["error"]["code"], -32700);
  EXPECT_TRUE(parse["id"].is_null());
}

TEST_F(McpServerTest, ToolsListIsExactlyTheEightToolsAndSmall) {
  initialize();
  const Json reply = send("tools/list", Json::object());
  std::vector<std::string> names;
  for (const Json& tool : reply["result"]["tools"]) {
    names.push_back(tool["name"]);
    EXPECT_EQ(tool["inputSchema"]["type"], "object");
    EXPECT_EQ(tool["outputSchema"]["type"], "object");
  }
  EXPECT_EQ(names, (std::vector<std::string>{"claim", "complete", "fail", "release", "heartbeat",
                                             "status", "show", "add"}));
  EXPECT_LT(reply["result"].dump().size(), 4096u);
}

TEST_F(McpServerTest, ClaimKeepsTheLeaseAndCompleteSendsIt) {
  initialize();
  daemon_.replies = {kClaimReply, R"({"status":"ok","data":{"task_id":"a"}})"};
  const Json claimed = call("claim", Json::object())["result"];
  EXPECT_FALSE(claimed.contains("isError"));
  EXPECT_EQ(claimed["structuredContent"]["task"]["id"], "a");
  EXPECT_FALSE(claimed["structuredContent"].contains("lease"));  // the server keeps it
  EXPECT_EQ(Json::parse(claimed["content"][0]["text"].get<std::string>()),
            claimed["structuredContent"]);
  EXPECT_EQ(daemon_.requests[0]["command"], "task_claim");
  EXPECT_EQ(daemon_.requests[0]["worker_id"], "mcp-test_client-42-abcdef01");

  const Json done = call("complete", Json::object())["result"];
  EXPECT_EQ(done["structuredContent"]["task_id"], "a");
  const Json& sent = daemon_.requests[1];
  EXPECT_EQ(sent["command"], "task_complete");
  EXPECT_EQ(sent["task_id"], "a");
  EXPECT_EQ(sent["lease"], "L1");
  EXPECT_EQ(sent["commit"], "c0ffee");
  EXPECT_EQ(sent["cwd"], "/work");
}

TEST_F(McpServerTest, RefusalsAreToolErrors) {
  initialize();
  const Json nothing = call("complete", Json::object())["result"];
  EXPECT_EQ(nothing["isError"], true);
  EXPECT_NE(nothing["content"][0]["text"].get<std::string>().find("holds no task"),
            std::string::npos);
  daemon_.replies = {R"({"status":"error","message":"task b is not held by you"})"};
  const Json refused = call("complete", {{"task_id", "b"}})["result"];
  EXPECT_EQ(refused["isError"], true);
  EXPECT_EQ(refused["content"][0]["text"], "task b is not held by you");
  // A daemon that cannot be reached is the tool's error too, not the protocol's.
  EXPECT_EQ(call("status", Json::object())["result"]["isError"], true);
}

TEST_F(McpServerTest, TheFirstTaskAddedStartsThePlan) {
  initialize();
  daemon_.replies = {R"({"status":"error","message":"No active workflow: import a plan first"})",
                     R"({"status":"ok","data":{"imported":1}})"};
  const Json added = call("add", {{"id", "a"}, {"description", "first"}})["result"];
  EXPECT_EQ(added["structuredContent"], Json({{"task_id", "a"}}));
  ASSERT_EQ(daemon_.requests.size(), 2u);
  EXPECT_EQ(daemon_.requests[1]["command"], "plan_import");
  EXPECT_EQ(daemon_.requests[1]["tasks"]["tasks"]["a"]["description"], "first")
      << daemon_.requests[1];
  EXPECT_FALSE(daemon_.requests[1].value("force", false));
}

TEST_F(McpServerTest, OlderClientsGetTextWithoutStructuredContent) {
  initialize("2025-03-26");
  EXPECT_FALSE(send("tools/list", Json::object())["result"]["tools"][0].contains("outputSchema"));
  daemon_.replies = {R"({"status":"ok","data":null})"};
  const Json status = call("status", Json::object())["result"];
  EXPECT_FALSE(status.contains("structuredContent"));
  EXPECT_EQ(Json::parse(status["content"][0]["text"].get<std::string>())["total"], 0);
}

}  // namespace
}  // namespace harness
