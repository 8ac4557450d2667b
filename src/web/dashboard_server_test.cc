#include "web/dashboard_server.h"

#include <httplib.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <future>
#include <thread>

#include "testing/temp_dir.h"
#include "web/access_token.h"

namespace harness {
namespace {

using ::testing::HasSubstr;

Workflow two_tasks() {
  Workflow w;
  Task a;
  a.id = "a";
  a.status = TaskStatus::kRunning;
  a.claimed_by = "w1";
  Task b;
  b.id = "b";
  b.dependencies = {"a"};
  w.tasks = {a, b};
  return w;
}

class DashboardServerTest : public ::testing::Test {
 protected:
  DashboardServerTest()
      : trajectory_(dir_.path() / "trajectory.jsonl"),
        events_(trajectory_),
        state_(
            [this] {
              ++fetches_;
              return std::optional<Workflow>(two_tasks());
            },
            events_, std::chrono::hours(1)),
        server_(DashboardConfig{0, token_}, state_, events_),
        serving_([this] { server_.run(); }),
        client_("127.0.0.1", server_.port()) {
    client_.set_read_timeout(30, 0);
  }
  ~DashboardServerTest() override {
    server_.stop();
    serving_.join();
  }

  void append(const std::string& line) {
    std::ofstream(trajectory_, std::ios::app) << line << "\n";
  }

  std::string with_token(const std::string& path) { return path + "?token=" + token_; }

  test_support::TempDir dir_;
  std::filesystem::path trajectory_;
  const std::string token_ = make_access_token();
  std::atomic<int> fetches_{0};
  EventHub events_;
  StateCache state_;
  DashboardServer server_;
  std::thread serving_;
  httplib::Client client_;
};

TEST_F(DashboardServerTest, EveryPathNeedsTheToken) {
  for (const char* path : {"/", "/api/state", "/api/events", "/nowhere"}) {
    auto none = client_.Get(path);
    ASSERT_TRUE(none) << path;
    EXPECT_EQ(none->status, 401) << path;
    auto wrong = client_.Get(std::string(path) + "?token=" + std::string(32, '0'));
    ASSERT_TRUE(wrong);
    EXPECT_EQ(wrong->status, 403) << path;
  }
}

TEST_F(DashboardServerTest, ServesThePageAndTheStateWithTheToken) {
  auto page = client_.Get(with_token("/"));
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_THAT(page->body, HasSubstr("EventSource"));
  EXPECT_THAT(page->get_header_value("Content-Security-Policy"), HasSubstr("default-src 'none'"));

  auto state = client_.Get("/api/state", {{"X-Harness-Token", token_}});
  ASSERT_TRUE(state);
  EXPECT_EQ(state->status, 200);
  const Json body = Json::parse(state->body);
  EXPECT_EQ(body["status"]["total"], 2);
  EXPECT_EQ(body["status"]["running_tasks"][0]["worker_id"], "w1");
  EXPECT_EQ(body["dag"]["nodes"][1]["id"], "b");

  auto bearer = client_.Get("/api/state", {{"Authorization", "Bearer " + token_}});
  ASSERT_TRUE(bearer);
  EXPECT_EQ(bearer->status, 200);
  EXPECT_EQ(client_.Get(with_token("/nowhere"))->status, 404);
}

TEST_F(DashboardServerTest, NothingButGetIsAllowed) {
  auto post = client_.Post(with_token("/api/state"), "{}", "application/json");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
  EXPECT_EQ(client_.Delete(with_token("/api/state"))->status, 405);
  EXPECT_EQ(client_.Put(with_token("/"), "x", "text/plain")->status, 405);
  EXPECT_EQ(client_.Post("/api/state", "{}", "application/json")->status, 401);
}

TEST_F(DashboardServerTest, StreamsEachNewEventWithAStateHint) {
  std::promise<void> open;
  std::promise<std::string> got;
  bool opened = false, done = false;
  std::string received;
  std::thread reader([&] {
    httplib::Client c("127.0.0.1", server_.port());
    c.set_read_timeout(30, 0);
    c.Get(with_token("/api/events"), [&](const char* data, std::size_t size) {
      received.append(data, size);
      if (!opened) {
        opened = true;
        open.set_value();
      }
      if (!done && received.find("event: state") != std::string::npos) {
        done = true;
        got.set_value(received);
        return false;
      }
      return true;
    });
  });
  open.get_future().wait();
  const std::string line =
      R"({"ts":"2027-01-15T08:00:00.000000+00:00","event":"claim","task_id":"a","worker_id":"w1"})";
  append(line);
  const std::string stream = got.get_future().get();
  reader.join();
  EXPECT_THAT(stream, HasSubstr("event: trajectory\ndata: " + line + "\n\n"));
  EXPECT_THAT(stream, HasSubstr("event: state\n"));
}

TEST_F(DashboardServerTest, TheStateIsMadeOncePerChangeNotPerRequest) {
  ASSERT_EQ(client_.Get(with_token("/api/state"))->status, 200);
  ASSERT_EQ(client_.Get(with_token("/api/state"))->status, 200);
  EXPECT_EQ(fetches_, 1);
  EXPECT_EQ(state_.version(), 1u);
  append(R"({"ts":"2027-01-15T08:00:00.000000+00:00","event":"complete","task_id":"a"})");
  // The hub wakes its waiters with the line and again once the new state is made.
  for (std::uint64_t next = 0; state_.version() < 2;)
    next = events_.wait(next, std::chrono::seconds(60)).next;
  EXPECT_EQ(fetches_, 2);
  auto state = client_.Get(with_token("/api/state"));
  ASSERT_TRUE(state);
  EXPECT_EQ(Json::parse(state->body)["version"], 2);
}

}  // namespace
}  // namespace harness
