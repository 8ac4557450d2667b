#include "core/plan_file.h"

#include <sys/stat.h>

#include <fstream>

#include <gtest/gtest.h>

#include "core/error.h"
#include "testing/temp_dir.h"

namespace harness {
namespace {

namespace fs = std::filesystem;

std::string refusal(const std::string& file, std::size_t max_bytes = kMaxPlanFileBytes) {
  try {
    read_plan_file_text(file, max_bytes);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kInvalidArgument);
    return e.what();
  }
  return "";
}

TEST(PlanFile, OnlyARegularFileIsReadAndAFifoDoesNotBlock) {
  test_support::TempDir dir("harness-plan-file");
  const fs::path fifo = dir.path() / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(refusal(fifo), "plan file " + fifo.string() + ": is a FIFO, not a regular file");
  EXPECT_EQ(refusal("/dev/zero"), "plan file /dev/zero: is a character device, not a regular file");
  EXPECT_EQ(refusal(dir.path()),
            "plan file " + dir.path().string() + ": is a directory, not a regular file");
  EXPECT_EQ(refusal((dir.path() / "none").string()),
            "plan file " + (dir.path() / "none").string() + ": No such file or directory");
}

TEST(PlanFile, AFileOverTheCapIsRefusedAndOneAtTheCapIsRead) {
  test_support::TempDir dir("harness-plan-file");
  const fs::path file = dir.path() / "plan.json";
  std::ofstream(file) << std::string(100, ' ');
  EXPECT_EQ(read_plan_file_text(file, 100).size(), 100u);
  EXPECT_EQ(refusal(file, 99), "plan file " + file.string() + ": is larger than 99 bytes");
}

TEST(PlanFile, AFileWhoseSizeSaysZeroIsReadToTheEnd) {
  // /proc files report size 0 but have content: the size is only a hint.
  EXPECT_FALSE(read_plan_file_text("/proc/self/status").empty());
  EXPECT_NE(refusal("/proc/self/status", 10).find("is larger than 10 bytes"), std::string::npos);
}

TEST(PlanFile, ProblemsInTheContentNameTheFile) {
  test_support::TempDir dir("harness-plan-file");
  const fs::path file = dir.path() / "cycle.json";
  std::ofstream(file) << R"([{"id":"a","dependencies":["b"]},{"id":"b","dependencies":["a"]}])";
  try {
    read_plan_file(file);
    ADD_FAILURE() << "a cycle was read";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("plan file " + file.string() + ": Cycle", 0), 0u)
        << e.what();
  }
}

}  // namespace
}  // namespace harness
