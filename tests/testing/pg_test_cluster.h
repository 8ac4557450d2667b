// The PostgreSQL cluster of the test suites (docs/reliability.md, "PostgreSQL"): the one ctest
// starts for the whole run (scripts/pg-cluster, named by $HARNESS_TEST_PG_DIR), else one this
// process starts on first use in a directory of its own and removes when it exits. Tests
// share its one database and keep apart by working on plans of their own.
#pragma once

#include <string>

namespace harness::test_support {

// The store URL of the cluster (starting it if this process owns it).
std::string test_pg_url();
// A plan name no other test of any process uses.
std::string unique_plan_name();

}  // namespace harness::test_support
