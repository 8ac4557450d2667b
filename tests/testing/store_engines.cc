#include "testing/store_engines.h"

#include "store/pg_store.h"
#include "store/sqlite_store.h"
#include "testing/pg_test_cluster.h"
#include "testing/temp_dir.h"

namespace harness::test_support {

namespace {

class SqliteEngine : public StoreEngine {
 public:
  std::unique_ptr<BatchingStore> open(StoreAccess access) override {
    return std::make_unique<SqliteStore>(dir_.path() / "state.db",
                                         access == StoreAccess::kReadOnly
                                             ? SqliteStore::Access::kReadOnly
                                             : SqliteStore::Access::kReadWrite);
  }

 private:
  TempDir dir_{"harness-engine"};
};

class PgEngine : public StoreEngine {
 public:
  std::unique_ptr<BatchingStore> open(StoreAccess access) override {
    return std::make_unique<PgStore>(target_, access == StoreAccess::kReadOnly
                                                  ? PgStore::Access::kReadOnly
                                                  : PgStore::Access::kReadWrite);
  }

 private:
  PgTarget target_{test_pg_url(), unique_plan_name()};
};

}  // namespace

std::unique_ptr<StoreEngine> make_store_engine(const std::string& name) {
  if (name == "sqlite") return std::make_unique<SqliteEngine>();
  if (name == "postgresql") return std::make_unique<PgEngine>();
  throw std::invalid_argument("no store engine " + name);
}

::testing::internal::ParamGenerator<std::string> all_store_engines() {
  return ::testing::Values(std::string("sqlite"), std::string("postgresql"));
}

std::string engine_name(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

}  // namespace harness::test_support
