// The whole service in-process: parse_request, then Service::handle — dispatch, the store, the
// group committer, the reader, the plan-file importer, the command pool — and the reply, for
// every command. The parsers' own fuzzers never reached the code after them, where a bad plan
// file and a NUL in an exec argument killed the daemon (issue 13).
//
// The input's first byte picks what is sent (the rest is the payload):
//   0  request lines: each line of the payload is one request, in order;
//   1  a plan file: the payload is written to a temporary file and imported by path;
//   2  a plan_import of a path from a fixed set (FIFO, directory, /dev/null, /dev/zero, missing,
//      a symlink to the FIFO, the last plan file), `force` from the payload's first byte.
// Bit 4 of the first byte hands the request a caller that has already gone away (cancelled).
//
// Properties: every request gets exactly one reply (checked at the next input too, so a late
// second reply is caught), within 10 s; it is one line of JSON with status "ok" or "error", an
// error with a message; an import of a file names the file when it fails; nothing escapes; a
// ping after each input is answered ok (the service is still up). exec and git run nothing: the
// command runner is a stand-in that echoes the argv, and checks that no argument, cwd or
// environment entry carrying a NUL byte ever reaches it.
#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "log/trajectory_writer.h"
#include "protocol/envelope.h"
#include "protocol/reply_encoder.h"
#include "protocol/request_codec.h"
#include "server/service.h"
#include "store/open_store.h"
#include "store/state_dir.h"

namespace harness::fuzz {
namespace {

namespace fs = std::filesystem;

struct Replies {
  std::mutex mutex;
  std::condition_variable arrived;
  std::vector<std::string> lines;
};

// What the service runs instead of a command: nothing. Reports the argv as output.
CommandResult fake_command(const CommandSpec& spec, std::stop_token) {
  const auto no_nul = [](const std::string& s, const char* what) {
    FUZZ_CHECK(s.find('\0') == std::string::npos,
               std::string("a NUL byte reached the command runner in ") + what);
  };
  CommandResult r;
  FUZZ_CHECK(!spec.args.empty(), "the command runner got an empty argv");
  for (const std::string& a : spec.args) {
    no_nul(a, "args");
    r.stdout_text += a;
    r.stdout_text += ' ';
  }
  no_nul(spec.cwd, "cwd");
  for (const auto& [name, value] : spec.env) {
    no_nul(name, "an env name");
    no_nul(value, "an env value");
  }
  return r;
}

class World {
 public:
  World() {
    const fs::path base = fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    std::string pattern = (base / "harness-fuzz-service-XXXXXX").string();
    FUZZ_CHECK(::mkdtemp(pattern.data()) != nullptr, "mkdtemp");
    root_ = pattern;
    fs::create_directories(root_ / "worktree");
    fs::create_directories(root_ / "dir");
    ::mkfifo((root_ / "fifo").c_str(), 0600);
    fs::create_symlink(root_ / "fifo", root_ / "link");
    const fs::path worktree = root_ / "worktree";
    writes_ = open_store({worktree, StoreConfig::Use::kDaemon});
    reads_ = open_store({worktree, StoreConfig::Use::kRead});
    trajectory_ = std::make_unique<TrajectoryWriter>(trajectory_path(worktree));
    Service::Options options;
    options.worktree = worktree;
    options.max_commands = 2;
    service_ = std::make_unique<Service>(
        Service::Collaborators{*writes_.store, *reads_.store, *trajectory_, SystemClock::instance(),
                               fake_command},
        options);
  }

  ~World() {
    service_.reset();
    trajectory_.reset();
    reads_.store.reset();
    writes_.store.reset();
    std::error_code ignored;
    fs::remove_all(root_, ignored);
  }

  fs::path plan_file() const { return root_ / "plan.json"; }

  fs::path fixed_path(unsigned char pick) const {
    const fs::path paths[] = {root_ / "fifo",         root_ / "dir",  "/dev/null", "/dev/zero",
                              root_ / "missing.json", root_ / "link", plan_file()};
    return paths[pick % std::size(paths)];
  }

  // Sends `line` as a session does; checks the reply. `file`: the plan file it imports, if any.
  void send(std::string_view line, bool gone, const std::string& file = "") {
    Request request;
    if (auto why = refused([&] { request = parse_request(line); })) {
      check_reply(error_reply(*why), line);
      return;
    }
    auto replies = std::make_shared<Replies>();
    outstanding_.push_back(replies);
    std::stop_source cancel;
    if (gone) cancel.request_stop();
    must_not_throw("Service::handle never throws", [&] {
      service_->handle(
          std::move(request),
          [replies](Answer answer) {
            std::string reply;
            must_not_throw("encoding an answer never throws",
                           [&] { reply = encode_answer(answer); });
            std::lock_guard lock(replies->mutex);
            replies->lines.push_back(std::move(reply));
            replies->arrived.notify_all();
          },
          cancel.get_token());
    });
    std::string reply;
    {
      std::unique_lock lock(replies->mutex);
      FUZZ_CHECK(replies->arrived.wait_for(lock, std::chrono::seconds(10),
                                           [&] { return !replies->lines.empty(); }),
                 "no reply within 10 s to: " + std::string(line));
      reply = replies->lines.front();
    }
    const Json j = check_reply(reply, line);
    if (!file.empty() && j["status"] == "error")
      FUZZ_CHECK(j["message"].get_ref<const std::string&>().find(file) != std::string::npos,
                 "a failed file import names the file: " + reply);
  }

  // Every request so far got exactly one reply; forgets them.
  void check_exactly_once() {
    for (const auto& r : outstanding_) {
      std::lock_guard lock(r->mutex);
      FUZZ_CHECK(r->lines.size() == 1,
                 std::to_string(r->lines.size()) +
                     " replies to one request: " + (r->lines.empty() ? "" : r->lines.back()));
    }
    outstanding_.clear();
  }

  void expect_up() {
    send(R"({"command":"ping"})", false);
    check_exactly_once();
  }

 private:
  static Json check_reply(const std::string& reply, std::string_view line) {
    FUZZ_CHECK(reply.find('\n') == std::string::npos, "a reply is one line: " + reply);
    Json j;
    if (auto why = refused([&] { j = parse_json(reply); }))
      fail("a reply is valid JSON", *why + "\nreply: " + reply);
    FUZZ_CHECK(j.is_object() && j.contains("status") && j["status"].is_string(),
               "reply envelope: " + reply);
    const std::string& status = j["status"].get_ref<const std::string&>();
    FUZZ_CHECK(status == "ok" || status == "error", "status is ok or error: " + reply);
    if (status == "error")
      FUZZ_CHECK(j.contains("message") && j["message"].is_string() &&
                     !j["message"].get_ref<const std::string&>().empty(),
                 "an error has a message: " + reply + "\nrequest: " + std::string(line));
    return j;
  }

  fs::path root_;
  OpenedStore writes_, reads_;
  std::unique_ptr<TrajectoryWriter> trajectory_;
  std::unique_ptr<Service> service_;
  std::vector<std::shared_ptr<Replies>> outstanding_;
};

World& world() {
  static World* w = new World();  // never destroyed: libFuzzer exits without unwinding
  return *w;
}

std::string import_of(const fs::path& file, bool force) {
  return Json{{"command", "plan_import"}, {"file", file.string()}, {"force", force}}.dump();
}

}  // namespace
}  // namespace harness::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace harness::fuzz;
  if (size == 0) return 0;
  World& w = world();
  const unsigned char mode = data[0];
  const bool gone = mode & 0x10;
  const std::string_view payload(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (mode % 3) {
    case 0: {
      std::size_t start = 0;
      while (start <= payload.size()) {
        std::size_t end = payload.find('\n', start);
        if (end == std::string_view::npos) end = payload.size();
        std::string_view line = payload.substr(start, end - start);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        w.send(line, gone);
        start = end + 1;
      }
      break;
    }
    case 1: {
      std::ofstream(w.plan_file(), std::ios::binary | std::ios::trunc)
          .write(payload.data(), static_cast<std::streamsize>(payload.size()));
      w.send(import_of(w.plan_file(), true), gone, w.plan_file().string());
      break;
    }
    case 2: {
      const unsigned char pick = payload.empty() ? 0 : static_cast<unsigned char>(payload[0]);
      const auto file = w.fixed_path(pick);
      w.send(import_of(file, pick & 0x80), gone, file.string());
      break;
    }
  }
  w.check_exactly_once();
  w.expect_up();
  return 0;
}
