// The store engines the semantic suites run against (one source of truth for the Store
// contract): each test opens its stores through a StoreEngine of the engine it is
// instantiated for, on state of its own — a fresh SQLite file, or a fresh plan in the test
// PostgreSQL cluster (testing/pg_test_cluster.h).
#pragma once

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "store/batching_store.h"

namespace harness::test_support {

enum class StoreAccess { kReadWrite, kReadOnly };

class StoreEngine {
 public:
  virtual ~StoreEngine() = default;
  // Another store on the same state: a connection of its own.
  virtual std::unique_ptr<BatchingStore> open(StoreAccess access = StoreAccess::kReadWrite) = 0;
};

// "sqlite" or "postgresql".
std::unique_ptr<StoreEngine> make_store_engine(const std::string& name);

// For INSTANTIATE_TEST_SUITE_P: every engine, named in the tests' names.
::testing::internal::ParamGenerator<std::string> all_store_engines();
std::string engine_name(const ::testing::TestParamInfo<std::string>& info);

}  // namespace harness::test_support
