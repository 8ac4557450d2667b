#include "store/open_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "core/error.h"
#include "store/state_dir.h"
#include "testing/temp_dir.h"

namespace harness {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr const char* kLegacyState = R"({"tasks": {
  "old": {"id": "old", "description": "Old one", "status": "completed", "dependencies": [],
          "started_at": "2026-01-01T10:00:00", "completed_at": "2026-01-01T10:05:00",
          "claimed_by": "agent-a", "timeout_seconds": 600},
  "next": {"id": "next", "description": "Next", "status": "pending", "dependencies": ["old"],
           "timeout_seconds": 900}}, "version": 1})";

class OpenStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { fs::create_directories(worktree_); }

  OpenedStore open(StoreConfig::Use use) { return open_store({worktree_, use}); }

  void write_legacy_state(const std::string& text) {
    fs::create_directories(legacy_state_path(worktree_).parent_path());
    std::ofstream(legacy_state_path(worktree_)) << text;
  }

  // The message of the Error::corruption that opening for the daemon throws.
  std::string daemon_open_corruption() {
    try {
      open(StoreConfig::Use::kDaemon);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), Error::Kind::kCorruption) << e.what();
      return e.what();
    }
    ADD_FAILURE() << "the store opened";
    return {};
  }

  test_support::TempDir dir_{"harness-open-store"};
  fs::path worktree_ = dir_.path() / "w";
};

TEST_F(OpenStoreTest, ReadOfAWorktreeWithoutADatabaseGivesNoStoreAndCreatesNothing) {
  OpenedStore opened = open(StoreConfig::Use::kRead);
  EXPECT_EQ(opened.store, nullptr);
  EXPECT_THAT(opened.notes, IsEmpty());
  EXPECT_FALSE(fs::exists(state_dir(worktree_)));
}

TEST_F(OpenStoreTest, WriteCreatesTheStateAndAReadSeesIt) {
  Workflow workflow;
  workflow.tasks.push_back(Task{.id = "a"});
  open(StoreConfig::Use::kWrite).store->replace_workflow(workflow, ReplaceMode::kAlways);
  EXPECT_TRUE(fs::exists(state_dir(worktree_) / ".gitignore"));
  OpenedStore read = open(StoreConfig::Use::kRead);
  ASSERT_NE(read.store, nullptr);
  EXPECT_EQ(read.store->load()->tasks.size(), 1u);
}

TEST_F(OpenStoreTest, DaemonImportsTheLegacyStateOnceAndSaysSo) {
  write_legacy_state(kLegacyState);
  {
    OpenedStore opened = open(StoreConfig::Use::kDaemon);
    EXPECT_THAT(opened.notes, ElementsAre(AllOf(HasSubstr("imported legacy state from"),
                                                HasSubstr(legacy_state_path(worktree_).string()))));
    const std::optional<Workflow> imported = opened.store->load();
    ASSERT_TRUE(imported.has_value());
    ASSERT_EQ(imported->tasks.size(), 2u);
    EXPECT_EQ(imported->tasks[0].status, TaskStatus::kCompleted);
    // Its dependency came in completed: the next task is ready.
    EXPECT_EQ(opened.store->claim("w", 0).task->id, "next");
    opened.store->replace_workflow(Workflow{}, ReplaceMode::kAlways);
  }
  OpenedStore again = open(StoreConfig::Use::kDaemon);
  EXPECT_THAT(again.notes, IsEmpty());
  EXPECT_TRUE(again.store->load()->tasks.empty());  // not imported a second time
}

TEST_F(OpenStoreTest, LegacyStateIsNotImportedOverAWorkflow) {
  Workflow workflow;
  workflow.tasks.push_back(Task{.id = "mine"});
  open(StoreConfig::Use::kWrite).store->replace_workflow(workflow, ReplaceMode::kAlways);
  write_legacy_state(kLegacyState);
  OpenedStore opened = open(StoreConfig::Use::kDaemon);
  EXPECT_THAT(opened.notes, IsEmpty());
  EXPECT_EQ(opened.store->load()->tasks.at(0).id, "mine");
}

TEST_F(OpenStoreTest, UnreadableLegacyStateIsANoteAndTheStoreOpens) {
  write_legacy_state("{\"tasks\": ");
  OpenedStore opened = open(StoreConfig::Use::kDaemon);
  EXPECT_THAT(opened.notes, ElementsAre(HasSubstr("not importing legacy state")));
  EXPECT_EQ(opened.store->load(), std::nullopt);
}

TEST_F(OpenStoreTest, LostDatabaseIsRefusedWhileTheTrajectoryRecordsWork) {
  open(StoreConfig::Use::kDaemon);
  std::ofstream(trajectory_path(worktree_)) << "{\"event\":\"claim\"}\n";
  for (const char* suffix : {"", "-wal", "-shm"})
    fs::remove(state_db_path(worktree_).string() + suffix);
  EXPECT_THAT(daemon_open_corruption(),
              AllOf(HasSubstr(state_db_path(worktree_).string() + " is missing although"),
                    HasSubstr("To recover")));
  EXPECT_FALSE(fs::exists(state_db_path(worktree_)));
  // Opening for a single write (StateManager.save) starts afresh, as it always did.
  EXPECT_NE(open(StoreConfig::Use::kWrite).store, nullptr);
}

// Damage that only the integrity check finds: the database opens, and its task pages are
// overwritten.
TEST_F(OpenStoreTest, DamagedDatabaseIsCorruptionWithWhatToDo) {
  {
    Workflow workflow;
    for (int i = 0; i < 2000; ++i)
      workflow.tasks.push_back(Task{.id = "t" + std::to_string(i), .description = "a task"});
    open(StoreConfig::Use::kWrite).store->replace_workflow(workflow, ReplaceMode::kAlways);
  }  // closed: the log is checkpointed into the database
  const fs::path db = state_db_path(worktree_);
  constexpr std::size_t kPage = 4096;
  const std::size_t pages = fs::file_size(db) / kPage;
  ASSERT_GT(pages, 8u);
  {
    std::fstream file(db, std::ios::in | std::ios::out | std::ios::binary);
    for (std::size_t page = pages / 2; page < pages - 1; page += 3) {
      file.seekp(static_cast<std::streamoff>(page * kPage));
      file << std::string(kPage, '\xff');
    }
  }
  EXPECT_THAT(daemon_open_corruption(),
              AllOf(HasSubstr(db.string()), HasSubstr("Nothing was changed. To recover"),
                    HasSubstr("sqlite3 " + db.string() + " .recover")));
}

}  // namespace
}  // namespace harness
