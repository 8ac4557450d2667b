// Security (issue 5, docs/security.md): only the socket owner's uid is served, even when the
// socket is made world-accessible; state files are private whatever the umask; files that
// someone else could plant (symlinks, FIFOs, files owned by another user) are refused rather
// than followed; the git guard holds through the socket; and nothing passes through a shell.
//
// "Another user" is nobody:nogroup, reached with setpriv (the CLI) or fork+setuid (raw
// protocol); those tests are skipped where the test cannot change uid.
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include <gtest/gtest.h>

#include "core/posix.h"
#include "reliability/reliability_util.h"
#include "store/state_dir.h"
#include "testing/run_program.h"
#include "testing/scoped_env.h"
#include "testing/scratch_worktree.h"
#include "testing/socket_client.h"
#include "testing/test_daemon.h"

namespace harness::testing {
namespace {

using namespace reliability;   // NOLINT: the helpers of this directory
using namespace test_support;  // NOLINT: the test library (tests/testing)

namespace fs = std::filesystem;

constexpr uid_t kNobody = 65534;
constexpr gid_t kNogroup = 65534;
constexpr char kRefusal[] =
    R"({"status":"error","message":"connection refused: not the daemon's user"})";

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) return static_cast<mode_t>(-1);
  return st.st_mode & 07777;
}

// The environment of a CLI run that must not pick up an identity from the test's own.
std::map<std::string, std::string> no_worker_id(std::map<std::string, std::string> env = {}) {
  env.emplace("HARNESS_WORKER_ID", "");
  return env;
}

// Connects to `socket` from a child process running as nobody:nogroup, sends `request`, and
// returns everything read until the daemon closes the connection. Between fork and _exit the
// child makes only system calls.
struct Exchange {
  int exit_code = -1;  // 0: the daemon closed (or reset) the connection; 3: could not connect
  std::string received;
};
Exchange exchange_as_nobody(const fs::path& socket, const std::string& request) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return {};
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setgid(kNogroup) != 0 || ::setuid(kNobody) != 0)
      ::_exit(2);
    const int fd = connect_unix_socket(socket).release();  // socket(2) and connect(2) alone
    if (fd < 0) ::_exit(3);
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    [[maybe_unused]] ssize_t w = ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) w = ::write(out[1], buf, static_cast<size_t>(n));
    // The daemon closes without reading the request, so the close may arrive as a reset.
    ::_exit(n == 0 || errno == ECONNRESET ? 0 : 4);
  }
  ::close(out[1]);
  Exchange result;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(out[0], buf, sizeof buf)) > 0)
    result.received.append(buf, static_cast<size_t>(n));
  ::close(out[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

class SecurityTest : public ::testing::Test {
 protected:
  ScratchWorktree wt;
  fs::path root() const { return wt.path().parent_path(); }
};

// ---- peer credentials --------------------------------------------------------------------------

TEST_F(SecurityTest, ConnectionsFromAnotherUidAreRefusedEvenOnAWorldWritableSocket) {
  std::string why;
  if (!can_run_as_nobody(&why)) GTEST_SKIP() << why;
  TestDaemon daemon(wt.socket(), wt.path());
  ASSERT_EQ(SocketClient(wt.socket()).call(independent_tasks_request(3))["status"], "ok");
  Json before = SocketClient(wt.socket()).call({{"command", "get_state"}});
  // Take away the file-system protection: only the daemon's own check is left.
  fs::permissions(root(), fs::perms(0755));
  fs::permissions(wt.socket(), fs::perms(0666));
  const fs::path marker = root() / "written-by-the-daemon-for-nobody";

  // The raw protocol: one refusal line, then the connection is closed, before any request
  // is read.
  for (const std::string& request :
       {std::string(R"({"command":"ping"})") + "\n",
        Json{{"command", "exec"}, {"args", {"touch", marker.string()}}}.dump() + "\n",
        std::string(R"({"command":"task_claim","worker_id":"intruder"})") + "\n",
        std::string(R"({"command":"shutdown"})") + "\n"}) {
    const Exchange e = exchange_as_nobody(wt.socket(), request);
    ASSERT_NE(e.exit_code, 3) << "nobody could not even connect; the test proves nothing";
    EXPECT_EQ(e.exit_code, 0) << "the daemon did not close the connection";
    EXPECT_EQ(e.received, std::string(kRefusal) + "\n") << request;
  }

  // The CLI, run as nobody, reports the refusal.
  const std::map<std::string, std::string> env{{"HARNESS_SOCKET", wt.socket().string()},
                                               {"HARNESS_WORKTREE", wt.path().string()},
                                               {"HARNESS_WORKER_ID", "intruder"},
                                               {"HARNESS_TIMEOUT", "2"}};
  auto as_nobody_cli = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = as_nobody();
    argv.push_back(HARNESS_BINARY);
    argv.insert(argv.end(), args.begin(), args.end());
    return run_program(argv, env, "/");
  };
  for (const std::vector<std::string>& verb :
       {std::vector<std::string>{"ping"},
        std::vector<std::string>{"exec", "--", "touch", marker.string()},
        std::vector<std::string>{"task", "claim"}, std::vector<std::string>{"shutdown"}}) {
    const RunResult r = as_nobody_cli(verb);
    EXPECT_EQ(r.status, 1) << verb[0];
    // Refused by the daemon (its peer check) or, first, by the client (the daemon is not
    // nobody's): both ends check.
    EXPECT_TRUE(contains(r.out + r.err, "connection refused: not the daemon's user") ||
                contains(r.err, "not as you; refusing to talk to it"))
        << verb[0] << ": " << r.out << r.err;
  }

  // Nothing happened on nobody's behalf, and the owner is still served.
  EXPECT_FALSE(fs::exists(marker)) << "the daemon ran a command for another user";
  SocketClient owner(wt.socket());
  EXPECT_EQ(owner.call({{"command", "get_state"}}), before) << "another user changed the state";
  EXPECT_EQ(owner.call({{"command", "ping"}})["status"], "ok");
}

// The reverse direction: with HARNESS_SOCKET in a shared directory another user may be
// listening first; the client checks SO_PEERCRED and refuses to talk to them.
TEST_F(SecurityTest, TheClientRefusesADaemonRunByAnotherUser) {
  std::string why;
  if (!can_run_as_nobody(&why)) GTEST_SKIP() << why;
  const fs::path shared = root() / "shared";
  fs::create_directory(shared);
  fs::permissions(root(), fs::perms(0755));
  fs::permissions(shared, fs::perms(01777));
  const fs::path fake = shared / "impostor.sock";
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, fake.c_str(), sizeof addr.sun_path - 1);
  const std::string reply =
      R"({"status":"ok","data":{"running":true,"pid":1,"worktree":"/impostor"}})"
      "\n";
  int ready[2];
  ASSERT_EQ(::pipe2(ready, O_CLOEXEC), 0);
  const pid_t impostor = ::fork();
  if (impostor == 0) {  // another user's server: answers one request "ok"
    if (::setgroups(0, nullptr) != 0 || ::setgid(kNogroup) != 0 || ::setuid(kNobody) != 0)
      ::_exit(2);
    const int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listener, 4) != 0)
      ::_exit(3);
    ::chmod(addr.sun_path, 0666);
    [[maybe_unused]] ssize_t w = ::write(ready[1], "r", 1);
    const int fd = ::accept(listener, nullptr, nullptr);
    char buf[4096];
    [[maybe_unused]] ssize_t n = ::read(fd, buf, sizeof buf);
    w = ::write(fd, reply.data(), reply.size());
    ::close(fd);
    ::_exit(0);
  }
  ::close(ready[1]);
  char byte;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1) << "the impostor did not start listening";
  ::close(ready[0]);
  const RunResult r = run_harness({"ping"}, fake, wt.path(), {{"HARNESS_TIMEOUT", "2"}});
  ::kill(impostor, SIGKILL);
  ::waitpid(impostor, nullptr, 0);
  EXPECT_EQ(r.status, 1) << "the client trusted a daemon run by uid 65534: " << r.out;
}

// ---- private files -----------------------------------------------------------------------------

TEST_F(SecurityTest, StateFilesArePrivateEvenUnderAPermissiveUmask) {
  ScopedUmask open_umask(0);  // inherited by the CLI and the daemon it spawns
  const std::map<std::string, std::string> env{{"HARNESS_WORKER_ID", "w1"}};
  // The CLI spawns the daemon (so daemon.log is created too), then some state and events.
  ASSERT_EQ(run_harness({"ping"}, wt.socket(), wt.path(), env).status, 0);
  const fs::path plan = root() / "plan.json";
  write_file(plan, R"({"tasks":{"a":{},"b":{}}})");
  ASSERT_EQ(
      run_harness({"plan", "import", "--file", plan.string()}, wt.socket(), wt.path(), env).status,
      0);
  ASSERT_EQ(run_harness({"task", "claim"}, wt.socket(), wt.path(), env).status, 0);
  ASSERT_EQ(run_harness({"exec", "--", "true"}, wt.socket(), wt.path(), env).status, 0);

  const fs::path dir = state_dir(wt.path());
  EXPECT_EQ(mode_of(dir), 0700u);
  for (const std::string name : {".gitignore", "state.db", "state.db-wal", "state.db-shm",
                                 "trajectory.jsonl", "daemon.log"}) {
    ASSERT_TRUE(fs::exists(dir / name)) << name;
    EXPECT_EQ(mode_of(dir / name), 0600u) << name;
  }
  EXPECT_EQ(mode_of(wt.socket()), 0600u);
  EXPECT_EQ(mode_of(dir / "daemon.json"), 0600u);  // who holds the state (DaemonLock)
  // Stop the daemon the CLI spawned, and let it finish before the worktree is removed.
  const pid_t pid = SocketClient(wt.socket()).call({{"command", "ping"}})["data"]["pid"];
  EXPECT_EQ(run_harness({"shutdown"}, wt.socket(), wt.path(), env).status, 0);
  EXPECT_TRUE(wait_for_exit(pid));
}

TEST_F(SecurityTest, DefaultSocketAndWorkerIdLiveInPrivateDirectories) {
  ScopedUmask open_umask(0);
  const fs::path runtime = root() / "runtime";
  fs::create_directory(runtime);
  fs::permissions(runtime, fs::perms(01777));  // a shared directory, like /tmp
  std::map<std::string, std::string> env{{"XDG_RUNTIME_DIR", runtime.string()},
                                         {"HARNESS_SOCKET", ""},
                                         {"HARNESS_WORKTREE", wt.path().string()},
                                         {"HARNESS_WORKER_ID", ""},
                                         {"USER", "root"}};
  const fs::path h = HARNESS_BINARY;
  RunResult ping = run_program({h.string(), "ping"}, env, wt.path());
  ASSERT_EQ(ping.status, 0) << ping.err;
  const fs::path socket_dir = runtime / "harness-root";
  EXPECT_EQ(mode_of(socket_dir), 0700u);
  int sockets = 0;
  for (const auto& entry : fs::directory_iterator(socket_dir)) {
    if (entry.path().extension() == ".sock") {
      ++sockets;
      EXPECT_EQ(mode_of(entry.path()) & 0777, 0600u) << entry.path();
    } else {
      EXPECT_EQ(mode_of(entry.path()), 0600u) << entry.path();  // the lock
    }
  }
  EXPECT_EQ(sockets, 1);

  // The worker id: created 0600, its missing directories 0700.
  env["HARNESS_WORKER_ID_FILE"] = (runtime / "ids" / "deeper" / "me.id").string();
  RunResult id = run_program({h.string(), "worker-id"}, env, wt.path());
  ASSERT_EQ(id.status, 0) << id.err;
  EXPECT_EQ(mode_of(runtime / "ids"), 0700u);
  EXPECT_EQ(mode_of(runtime / "ids" / "deeper"), 0700u);
  EXPECT_EQ(mode_of(runtime / "ids" / "deeper" / "me.id"), 0600u);
  // Without one, the id is the agent process's (issue 13 item 15): no shared file at all.
  env.erase("HARNESS_WORKER_ID_FILE");
  id = run_program({h.string(), "worker-id"}, env, wt.path());
  ASSERT_EQ(id.status, 0) << id.err;
  EXPECT_FALSE(fs::exists(runtime / "harness-worker-root.id"));

  pid_t pid = -1;
  for (const auto& entry : fs::directory_iterator(socket_dir))
    if (entry.path().extension() == ".sock")
      pid = SocketClient(entry.path()).call({{"command", "ping"}})["data"]["pid"];
  EXPECT_EQ(run_program({h.string(), "shutdown"}, env, wt.path()).status, 0);
  EXPECT_TRUE(pid > 0 && wait_for_exit(pid));
}

TEST_F(SecurityTest, ASocketDirectoryOthersCanWriteIsRefused) {
  const fs::path runtime = root() / "runtime";
  fs::create_directories(runtime / "harness-root");
  fs::permissions(runtime / "harness-root", fs::perms(0777));
  const std::map<std::string, std::string> env{{"XDG_RUNTIME_DIR", runtime.string()},
                                               {"HARNESS_SOCKET", ""},
                                               {"HARNESS_WORKTREE", wt.path().string()},
                                               {"USER", "root"}};
  const RunResult r = run_program({HARNESS_BINARY, "ping"}, env, wt.path());
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "must be a directory owned by you with mode 0700")) << r.err;
  EXPECT_TRUE(fs::is_empty(runtime / "harness-root")) << "a socket was created in it";
  // Private, but someone else's.
  if (::geteuid() != 0) return;  // only root can give a directory away
  fs::permissions(runtime / "harness-root", fs::perms(0700));
  ASSERT_EQ(::chown((runtime / "harness-root").c_str(), kNobody, kNogroup), 0);
  const RunResult foreign = run_program({HARNESS_BINARY, "ping"}, env, wt.path());
  EXPECT_EQ(foreign.status, 1);
  EXPECT_TRUE(contains(foreign.err, "must be a directory owned by you")) << foreign.err;
}

// A W/.harness that others can enter (here 0777) is made private before any state is kept in it.
TEST_F(SecurityTest, AStateDirectoryOthersCanWriteIsRefusedOrMadePrivate) {
  const fs::path dir = state_dir(wt.path());
  fs::create_directory(dir);
  fs::permissions(dir, fs::perms(0777));
  TestDaemon daemon = TestDaemon::launch(wt.socket(), wt.path(), root() / "daemon.err");
  if (daemon.await() == TestDaemon::Outcome::kListening) {
    EXPECT_EQ(mode_of(dir), 0700u) << "the daemon keeps its state in a world-writable directory";
  } else {
    EXPECT_NE(daemon.exit_status(), 0);
    EXPECT_TRUE(contains(read_file(root() / "daemon.err"), dir.string()));
  }
}

// ---- planted files -----------------------------------------------------------------------------

// A file an attacker would like overwritten; compared before and after.
struct Victim {
  fs::path path;
  std::string content = "root:x:0:0:root:/root:/bin/bash\n";
  explicit Victim(fs::path p) : path(std::move(p)) { write_file(path, content); }
  bool untouched() const { return fs::exists(path) && read_file(path) == content; }
};

TEST_F(SecurityTest, WorkerIdFilePlantedAsASymlinkIsRefusedAndItsTargetUntouched) {
  const fs::path shared = root() / "shared";
  fs::create_directory(shared);
  fs::permissions(shared, fs::perms(01777));
  Victim victim(root() / "passwd");
  const fs::path planted = shared / "harness-worker-root.id";
  fs::create_symlink(victim.path, planted);

  auto worker_id = [&](std::map<std::string, std::string> env) {
    return run_harness({"worker-id"}, wt.socket(), wt.path(), no_worker_id(std::move(env)));
  };
  // Named explicitly.
  {
    const RunResult r = worker_id({{"HARNESS_WORKER_ID_FILE", planted.string()}});
    EXPECT_EQ(r.status, 1) << r.out;
    EXPECT_TRUE(contains(r.err, "is a symlink; refusing to follow it")) << r.err;
    EXPECT_TRUE(victim.untouched());
  }
  // At the old default location in a shared runtime directory: no longer read at all (the
  // default id is the agent process's, issue 13 item 15).
  {
    const RunResult r = worker_id(
        {{"XDG_RUNTIME_DIR", shared.string()}, {"HARNESS_WORKER_ID_FILE", ""}, {"USER", "root"}});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(victim.untouched());
  }

  // A dangling symlink: following it would create the target.
  const fs::path dangling = shared / "dangling.id";
  const fs::path would_create = root() / "created-through-the-link";
  fs::create_symlink(would_create, dangling);
  RunResult r = worker_id({{"HARNESS_WORKER_ID_FILE", dangling.string()}});
  EXPECT_EQ(r.status, 1);
  EXPECT_FALSE(fs::exists(would_create));

  // A file someone else owns (only root can give one away), and a FIFO (which must not hang
  // the reader).
  if (::geteuid() == 0) {
    const fs::path foreign = shared / "foreign.id";
    write_file(foreign, "worker-chosen-by-someone-else\n");
    ASSERT_EQ(::chown(foreign.c_str(), kNobody, kNogroup), 0);
    r = worker_id({{"HARNESS_WORKER_ID_FILE", foreign.string()}});
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(contains(r.err, "is owned by uid 65534")) << r.err;
  }
  const fs::path fifo = shared / "fifo.id";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  r = worker_id({{"HARNESS_WORKER_ID_FILE", fifo.string()}});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "is not a regular file")) << r.err;

  // A claim with the planted file never reaches the daemon under a borrowed identity.
  TestDaemon daemon(wt.socket(), wt.path());
  ASSERT_EQ(SocketClient(wt.socket()).call(independent_tasks_request(1))["status"], "ok");
  r = run_harness({"task", "claim"}, wt.socket(), wt.path(),
                  no_worker_id({{"HARNESS_WORKER_ID_FILE", planted.string()}}));
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(
      SocketClient(wt.socket()).call({{"command", "get_state"}})["data"]["tasks"]["t0"]["status"],
      "pending");
  EXPECT_TRUE(victim.untouched());
}

// Each of the daemon's files planted as a symlink to a file worth protecting, while the daemon
// is stopped: the daemon refuses to start (or the client to spawn it) and the target is left
// as it was.
TEST_F(SecurityTest, StateFilesPlantedAsSymlinksAreRefusedAndTheirTargetsUntouched) {
  const fs::path dir = state_dir(wt.path());
  {
    TestDaemon daemon(wt.socket(), wt.path());  // creates the state, then stops
    ASSERT_EQ(SocketClient(wt.socket()).call(independent_tasks_request(2))["status"], "ok");
    ASSERT_EQ(daemon.terminate_and_wait(), 0);
  }
  struct Case {
    fs::path planted;
    std::string expected;  // in the daemon's error
  };
  const std::vector<Case> cases{
      {dir / "trajectory.jsonl", "it is a symlink"},
      {dir / "state.db", "state.db"},
      {dir / "state.db-wal", "state.db"},
      {dir / "state.db-shm", "state.db"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.planted.string());
    const fs::path aside = c.planted.string() + ".aside";
    const bool existed = fs::exists(c.planted);
    if (existed) fs::rename(c.planted, aside);
    Victim victim(root() / "victim");
    fs::create_symlink(victim.path, c.planted);
    const fs::path err = root() / "planted.err";
    fs::remove(err);
    TestDaemon daemon = TestDaemon::launch(wt.socket(), wt.path(), err);
    const auto outcome = daemon.await();
    EXPECT_EQ(outcome, TestDaemon::Outcome::kExited) << "the daemon started over a planted symlink";
    if (outcome == TestDaemon::Outcome::kExited) {
      EXPECT_NE(daemon.exit_status(), 0);
    }
    EXPECT_TRUE(contains(read_file(err), c.expected)) << read_file(err);
    EXPECT_TRUE(victim.untouched()) << "the daemon wrote through the planted symlink";
    daemon.kill_hard();
    fs::remove(c.planted);
    if (existed) fs::rename(aside, c.planted);
  }

  // The daemon's record of itself (daemon.json) is replaced, never written through.
  {
    Victim victim(root() / "victim-info");
    fs::create_symlink(victim.path, dir / "daemon.json");
    TestDaemon daemon(wt.socket(), wt.path());
    EXPECT_TRUE(victim.untouched()) << "the daemon wrote through the planted symlink";
    EXPECT_FALSE(fs::is_symlink(dir / "daemon.json"));
    ASSERT_EQ(daemon.terminate_and_wait(), 0);
  }

  // daemon.log, opened by the client that spawns the daemon.
  Victim victim(root() / "victim-log");
  fs::create_symlink(victim.path, dir / "daemon.log");
  const RunResult ping = run_harness({"ping"}, wt.socket(), wt.path(), {{"HARNESS_TIMEOUT", "2"}});
  EXPECT_EQ(ping.status, 1);
  EXPECT_TRUE(contains(ping.err, "cannot prepare the daemon's files")) << ping.err;
  EXPECT_TRUE(victim.untouched());
  fs::remove(dir / "daemon.log");

  // The state directory itself replaced by a symlink to another directory.
  const fs::path elsewhere = root() / "elsewhere";
  fs::rename(dir, elsewhere);
  fs::create_directory_symlink(elsewhere, dir);
  const fs::path err = root() / "planted.err";
  fs::remove(err);
  TestDaemon daemon = TestDaemon::launch(wt.socket(), wt.path(), err);
  EXPECT_EQ(daemon.await(), TestDaemon::Outcome::kExited);
  EXPECT_TRUE(contains(read_file(err), "exists but is not a directory")) << read_file(err);
}

// ---- the git guard, through the socket --------------------------------------------------------

TEST_F(SecurityTest, GitOptionsThatRunProgramsAreRefusedThroughTheSocket) {
  TestDaemon daemon(wt.socket(), wt.path());
  SocketClient c(wt.socket());
  const fs::path marker = root() / "git-ran-a-program";
  const std::string touch = "touch " + marker.string();
  const std::vector<std::vector<std::string>> refused{
      {"-c", "core.pager=" + touch, "log"},
      {"-ccore.pager=" + touch, "log"},
      {"--config-env=core.pager=PAGER", "log"},
      {"--exec-path=" + root().string(), "status"},
      {"fetch", "--upload-pack=" + touch, "."},
      {"fetch", "--upl=" + touch, "."},
      {"ls-remote", "--upload-pack", touch, "."},
      {"push", "--receive-pack=" + touch, "."},
      {"pull", ".", "--", "--upload-pack=" + touch},
      {"clone", "-u", touch, ".", (root() / "clone").string()},
      {"clone", "--template=" + root().string(), ".", (root() / "clone").string()},
      {"rebase", "-x", touch, "HEAD"},
      {"submodule", "foreach", touch},
      {"filter-branch", "--tree-filter", touch},
      {"difftool", "-x", touch},
      {"grep", "-O" + touch, "x"},
      {"config", "core.pager", touch},
      {"log", "--output=" + (root() / "out").string()},
      {"./evil"},
      {"my-alias"},
  };
  for (const auto& args : refused) {
    Json r = c.call({{"command", "git"}, {"args", args}});
    EXPECT_EQ(r["status"], "error") << Json(args).dump() << " -> " << r.dump();
    EXPECT_TRUE(contains(r.value("message", ""), "is not allowed")) << r.dump();
  }
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"GIT_SSH_COMMAND", touch},
           {"GIT_CONFIG_PARAMETERS", "'core.pager'='" + touch + "'"},
           {"GIT_EXTERNAL_DIFF", touch},
           {"PATH", root().string()}}) {
    Json r = c.call({{"command", "git"}, {"args", {"log"}}, {"env", {{name, value}}}});
    EXPECT_EQ(r["status"], "error") << name;
    EXPECT_TRUE(contains(r.value("message", ""), name)) << r.dump();
  }
  // Look-alikes that are legitimate still run.
  Json identity{{"GIT_AUTHOR_NAME", "t"},
                {"GIT_AUTHOR_EMAIL", "t@example.com"},
                {"GIT_COMMITTER_NAME", "t"},
                {"GIT_COMMITTER_EMAIL", "t@example.com"}};
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"commit", "--allow-empty", "-m", "-c"},
                                             {"log", "-c", "-1"},
                                             {"status", "-u"},
                                             {"-C", wt.path().string(), "status"},
                                             {"add", "--", "-c"}}) {
    Json r = c.call({{"command", "git"}, {"args", args}, {"env", identity}});
    EXPECT_EQ(r["status"], "ok") << Json(args).dump() << " -> " << r.dump();
  }
  // The CLI says why.
  const RunResult cli =
      run_harness({"git", "--", "-c", "core.pager=" + touch, "log"}, wt.socket(), wt.path());
  EXPECT_EQ(cli.status, 1);
  EXPECT_TRUE(contains(cli.err, "git option '-c' is not allowed")) << cli.err;
  EXPECT_FALSE(fs::exists(marker)) << "git ran a program named by a request";
}

// ---- no shell ----------------------------------------------------------------------------------

TEST_F(SecurityTest, NothingPassesThroughAShell) {
  TestDaemon daemon(wt.socket(), wt.path());
  SocketClient c(wt.socket());
  const fs::path marker = root() / "shell-ran";
  const std::string inject = "$(touch " + marker.string() + ")";
  auto exec = [&](std::vector<std::string> args, Json env = Json::object()) {
    return c.call({{"command", "exec"}, {"args", args}, {"env", env}, {"cwd", root().string()}});
  };
  Json r = exec({"echo", "$(id)"});
  EXPECT_EQ(r["data"]["stdout"], "$(id)\n");
  r = exec({"echo", "`id`", ";", "id", "|", "id", "&&", "id", "$HOME", "*", inject});
  EXPECT_EQ(r["data"]["stdout"], "`id` ; id | id && id $HOME * " + inject + "\n");
  r = exec({"printenv", "X"}, Json{{"X", inject}});
  EXPECT_EQ(r["data"]["stdout"], inject + "\n");
  // A command line given as one word is a program name, not a script.
  r = exec({"echo hi; touch " + marker.string()});
  EXPECT_EQ(r["data"]["returncode"], 127);
  EXPECT_EQ(r["data"]["stdout"], "");
  // A shell metacharacter in a file name is part of the name.
  r = exec({"touch", "name; touch " + marker.filename().string()});
  EXPECT_EQ(r["data"]["returncode"], 0) << r.dump();
  EXPECT_TRUE(fs::exists(root() / ("name; touch " + marker.filename().string())));
  // Nor through git: the format is printed, not evaluated.
  r = c.call({{"command", "git"}, {"args", {"log", "-1", "--format=tformat:" + inject}}});
  EXPECT_EQ(r["data"]["stdout"], inject + "\n");
  // Nor through the CLI.
  const RunResult cli =
      run_harness({"exec", "--", "echo", "$(id)", inject}, wt.socket(), wt.path());
  EXPECT_EQ(cli.status, 0);
  EXPECT_EQ(parse_json(cli.out)["data"]["stdout"], "$(id) " + inject + "\n");
  EXPECT_FALSE(fs::exists(marker)) << "something ran a shell";
}

}  // namespace
}  // namespace harness::testing
