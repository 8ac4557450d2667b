// SqliteStore's claim and complete on a 100,000-task store: one claim + complete pair per
// item, either each as its own durable transaction (two fsyncs per pair: the cost without
// group commit) or 64 pairs in one batch (one fsync per 128 mutations: what the group
// committer achieves under load, so mostly the SQL and the Task decoding).
#include <benchmark/benchmark.h>

#include <memory>

#include "core/clock.h"
#include "plan_shape.h"
#include "store/sqlite_store.h"
#include "temp_dir.h"

namespace harness::bench {
namespace {

constexpr std::size_t kTasks = 100'000;
constexpr std::size_t kPairsPerBatch = 64;
const std::string kWorker = "bench-worker";

// One store for every benchmark in this file: building 100,000 rows takes a while.
class StoreFixture {
 public:
  static StoreFixture& instance() {
    static StoreFixture fixture;
    return fixture;
  }

  SqliteStore& store() { return *store_; }

  // Makes sure `pairs` more tasks can be claimed, refilling the plan (untimed) if not.
  void reserve(benchmark::State& state, std::size_t pairs) {
    if (taken_ + pairs <= kTasks) {
      taken_ += pairs;
      return;
    }
    state.PauseTiming();
    store_->replace_workflow(plan_, ReplaceMode::kAlways);
    taken_ = pairs;
    state.ResumeTiming();
  }

 private:
  StoreFixture()
      : plan_(make_workflow({Shape::kIndependent, kTasks})),
        store_(std::make_unique<SqliteStore>(dir_.path() / "state.db",
                                             SqliteStore::Access::kReadWrite)) {
    store_->replace_workflow(plan_, ReplaceMode::kAlways);
  }

  TempDir dir_;
  Workflow plan_;
  std::unique_ptr<SqliteStore> store_;
  std::size_t taken_ = 0;
};

void claim_and_complete(Store& store) {
  const Micros now = SystemClock::instance().now();
  const ClaimResult claimed = store.claim(kWorker, now);
  store.complete(claimed.task.value().id, kWorker, now, std::nullopt);
}

void BM_StoreClaimCompleteDurable(benchmark::State& state) {
  StoreFixture& fixture = StoreFixture::instance();
  for (auto _ : state) {
    fixture.reserve(state, 1);
    claim_and_complete(fixture.store());
  }
  state.SetItemsProcessed(state.iterations());
}

void rethrow_if(const std::exception_ptr& error) {
  if (error) std::rethrow_exception(error);
}

// As the group committer runs them: each mutation one Store call.
void BM_StoreClaimCompleteBatched(benchmark::State& state) {
  StoreFixture& fixture = StoreFixture::instance();
  SqliteStore& store = fixture.store();
  std::string claimed;
  const BatchingStore::Mutation claim = [&claimed](Store& s) {
    claimed = s.claim(kWorker, SystemClock::instance().now()).task.value().id;
  };
  const BatchingStore::Mutation complete = [&claimed](Store& s) {
    s.complete(claimed, kWorker, SystemClock::instance().now(), std::nullopt);
  };
  for (auto _ : state) {
    fixture.reserve(state, kPairsPerBatch);
    store.begin_batch();
    for (std::size_t i = 0; i < kPairsPerBatch; ++i) {
      rethrow_if(store.run_in_batch(claim));
      rethrow_if(store.run_in_batch(complete));
    }
    rethrow_if(store.commit_batch());
    store.sync();  // durable, as the group committer makes it before replying
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kPairsPerBatch));
}

// Real time: the durable variant mostly waits for the disk, which CPU time would hide.
BENCHMARK(BM_StoreClaimCompleteDurable)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_StoreClaimCompleteBatched)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace
}  // namespace harness::bench
