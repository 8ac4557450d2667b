#include "exec/program_lookup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "core/posix.h"

namespace harness {
namespace {

class SubprocessProgramLookupTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = testing::TempDir() + "harness-lookup-XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    std::filesystem::create_directories(root_ / "a");
    std::filesystem::create_directories(root_ / "b");
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  std::string dir(const std::string& name) const { return (root_ / name).string(); }

  void make_file(const std::string& relative, mode_t mode) {
    const std::string path = (root_ / relative).string();
    std::ofstream(path) << "#!/bin/sh\n";
    ASSERT_EQ(chmod(path.c_str(), mode), 0);
  }

  std::filesystem::path root_;
};

TEST_F(SubprocessProgramLookupTest, NameWithSlashIsUsedAsIs) {
  EXPECT_EQ(find_program("./x", std::string("/nowhere")).path, "./x");
  EXPECT_EQ(find_program("/bin/sh", std::nullopt).error, 0);
}

TEST_F(SubprocessProgramLookupTest, TakesTheFirstExecutableInPathOrder) {
  make_file("a/tool", 0755);
  make_file("b/tool", 0755);
  ProgramLookup found = find_program("tool", dir("b") + ":" + dir("a"));
  EXPECT_EQ(found.error, 0);
  EXPECT_EQ(found.path, dir("b") + "/tool");
}

TEST_F(SubprocessProgramLookupTest, SkipsNonExecutablesAndDirectories) {
  make_file("a/tool", 0644);
  std::filesystem::create_directory(root_ / "a" / "sub");
  make_file("b/tool", 0755);
  EXPECT_EQ(find_program("tool", dir("a") + ":" + dir("b")).path, dir("b") + "/tool");
  ProgramLookup dir_only = find_program("sub", dir("a"));
  EXPECT_EQ(dir_only.error, EACCES);
}

TEST_F(SubprocessProgramLookupTest, ReportsEaccesOnlyWhenSomethingWasFound) {
  make_file("a/tool", 0644);
  EXPECT_EQ(find_program("tool", dir("a")).error, EACCES);
  EXPECT_EQ(find_program("other", dir("a")).error, ENOENT);
  EXPECT_EQ(find_program("", dir("a")).error, ENOENT);
}

TEST_F(SubprocessProgramLookupTest, EmptyEntryAndRelativeEntriesUseTheGivenDirectory) {
  make_file("a/tool", 0755);
  UniqueFd root(open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(root);
  ProgramLookup relative = find_program("tool", std::string("a"), root.get());
  EXPECT_EQ(relative.error, 0);
  EXPECT_EQ(relative.path, "a/tool");

  UniqueFd in_a(open(dir("a").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  ProgramLookup empty_entry = find_program("tool", std::string("/nonexistent:"), in_a.get());
  EXPECT_EQ(empty_entry.error, 0);
  EXPECT_EQ(empty_entry.path, "./tool");
}

TEST_F(SubprocessProgramLookupTest, UnsetPathMeansTheSystemDefault) {
  ProgramLookup sh = find_program("sh", std::nullopt);
  EXPECT_EQ(sh.error, 0);
  EXPECT_TRUE(sh.path == "/bin/sh" || sh.path == "/usr/bin/sh") << sh.path;
}

}  // namespace
}  // namespace harness
