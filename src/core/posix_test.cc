#include "core/posix.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <thread>

#include "core/error.h"
#include "testing/scoped_env.h"
#include "testing/temp_dir.h"

namespace harness {
namespace {

namespace fs = std::filesystem;

using namespace test_support;  // NOLINT: the test library (tests/testing)

bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

// A listening Unix socket at `path`, for the connect tests.
UniqueFd listen_at(const fs::path& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, path.c_str());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(::listen(fd.get(), 4), 0);
  return fd;
}

TEST(UniqueFd, ClosesWhatItOwnsAndNothingItReleased) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  { const UniqueFd owned(pipe_fds[0]); }
  EXPECT_FALSE(is_open(pipe_fds[0]));

  UniqueFd kept(pipe_fds[1]);
  const int raw = kept.release();
  EXPECT_FALSE(kept);
  EXPECT_TRUE(is_open(raw));
  ::close(raw);
}

TEST(UniqueFd, MovingHandsOverOwnership) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  UniqueFd a(pipe_fds[0]);
  UniqueFd b(pipe_fds[1]);
  b = std::move(a);  // closes b's pipe end, takes a's
  EXPECT_FALSE(a);
  EXPECT_EQ(b.get(), pipe_fds[0]);
  EXPECT_FALSE(is_open(pipe_fds[1]));
  EXPECT_TRUE(is_open(pipe_fds[0]));
}

TEST(WriteAll, WritesEveryByteOfAWriteLargerThanThePipe) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  const UniqueFd read_end(pipe_fds[0]);
  UniqueFd write_end(pipe_fds[1]);
  ASSERT_GE(::fcntl(write_end.get(), F_SETPIPE_SZ, 4096), 0);
  const std::string bytes(64 * 1024, 'x');
  std::string received;
  std::thread reader([&] {
    char buf[1024];
    ssize_t n;
    while ((n = ::read(read_end.get(), buf, sizeof buf)) > 0) received.append(buf, n);
  });
  EXPECT_EQ(write_all(write_end.get(), bytes), bytes.size());
  write_end.reset();  // EOF for the reader
  reader.join();
  EXPECT_EQ(received, bytes);
}

TEST(WriteAll, ReportsAFailedWriteByWhatWasWrittenAndErrno) {
  TempDir dir;
  const UniqueFd read_only(::open((dir.path() / "f").c_str(), O_RDONLY | O_CREAT, 0600));
  errno = 0;
  EXPECT_EQ(write_all(read_only.get(), "data"), 0u);
  EXPECT_EQ(errno, EBADF);
}

TEST(SendAll, APeerThatWentAwayIsEpipeNotASignal) {
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  const UniqueFd ours(pair[0]);
  ::close(pair[1]);
  errno = 0;
  EXPECT_EQ(send_all(ours.get(), "request\n"), 0u);
  EXPECT_EQ(errno, EPIPE);
}

TEST(EnsurePrivateDir, CreatesA0700DirectoryWhateverTheUmask) {
  TempDir dir;
  ScopedUmask open_umask(0);
  EXPECT_EQ(ensure_private_dir(dir.path() / "d"), DirState::kPrivate);
  EXPECT_EQ(mode_of(dir.path() / "d"), 0700u);
  EXPECT_EQ(ensure_private_dir(dir.path() / "d"), DirState::kPrivate);  // idempotent
}

TEST(EnsurePrivateDir, MissingParentsAreAnErrorUnlessAskedFor) {
  TempDir dir;
  const fs::path deep = dir.path() / "a" / "b";
  EXPECT_THROW(ensure_private_dir(deep), Error);
  EXPECT_EQ(ensure_private_dir(deep, MissingParents::kCreate), DirState::kPrivate);
  EXPECT_EQ(mode_of(dir.path() / "a"), 0700u);
  EXPECT_EQ(mode_of(deep), 0700u);
}

TEST(EnsurePrivateDir, SaysWhatIsWrongWithWhatIsAlreadyThere) {
  TempDir dir;
  const fs::path file = dir.path() / "file";
  { const UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CREAT, 0600)); }
  EXPECT_EQ(ensure_private_dir(file), DirState::kNotADirectory);

  const fs::path link = dir.path() / "link";
  fs::create_symlink(dir.path(), link);
  EXPECT_EQ(ensure_private_dir(link), DirState::kNotADirectory);  // never followed

  const fs::path open = dir.path() / "open";
  fs::create_directory(open);
  fs::permissions(open, fs::perms(0755));
  EXPECT_EQ(ensure_private_dir(open), DirState::kOpenToOthers);
  EXPECT_EQ(mode_of(open), 0755u);  // the caller decides whether to close it

  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a directory away";
  const fs::path foreign = dir.path() / "foreign";
  fs::create_directory(foreign);
  ASSERT_EQ(::chown(foreign.c_str(), 65534, 65534), 0);
  EXPECT_EQ(ensure_private_dir(foreign), DirState::kOtherOwner);
}

TEST(CurrentUserName, IsUserWhenItCanNameADirectory) {
  ScopedEnv user("USER", "alice");
  EXPECT_EQ(current_user_name(), "alice");
}

TEST(CurrentUserName, FallsBackToThePasswordDatabase) {
  ScopedEnv user("USER", std::nullopt);
  EXPECT_FALSE(current_user_name().empty());
}

TEST(CurrentUserName, RefusesAUserThatIsNotOnePathComponentAndSaysWhy) {
  for (const auto& [value, why] : {std::pair<std::string, std::string>{"a/b", "'/'"},
                                   {"..", "\"..\""},
                                   {".", "\".\""},
                                   {std::string(300, 'u'), "longer than"}}) {
    ScopedEnv user("USER", value);
    try {
      current_user_name();
      ADD_FAILURE() << "accepted USER=" << value;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), Error::Kind::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
    }
  }
}

TEST(ConnectUnixSocket, ConnectsToAListener) {
  TempDir dir;
  const UniqueFd listener = listen_at(dir.path() / "s.sock");
  const UniqueFd client = connect_unix_socket(dir.path() / "s.sock");
  ASSERT_TRUE(client) << std::strerror(errno);
  EXPECT_TRUE(UniqueFd(::accept(listener.get(), nullptr, nullptr)));
}

TEST(ConnectUnixSocket, FailsWithErrnoWhenNothingListens) {
  TempDir dir;
  EXPECT_FALSE(connect_unix_socket(dir.path() / "none.sock"));
  EXPECT_EQ(errno, ENOENT);
  EXPECT_FALSE(connect_unix_socket(dir.path() / std::string(200, 's')));
  EXPECT_EQ(errno, ENAMETOOLONG);
}

}  // namespace
}  // namespace harness
