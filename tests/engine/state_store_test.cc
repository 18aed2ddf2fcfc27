#include <doctest/doctest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "engine/state_store.h"

using namespace tosgate::engine;

constexpr int64_t kSec = 1'000'000'000;

MeterSpec Window(int64_t limit, int64_t period) { return {Meter::kWindow, limit, period}; }
MeterSpec Gcra(int64_t limit, int64_t period, int64_t burst) {
  MeterSpec m{Meter::kGcra, limit, period};
  m.burst = burst;
  return m;
}

TEST_CASE("a window admits exactly the limit, then says when to retry") {
  auto store = NewMemoryStateStore();
  const MeterSpec w = Window(20, 60 * kSec);
  for (int i = 0; i < 20; ++i) REQUIRE(store->Take("k", w, 1, 0)->allowed);
  auto r = store->Take("k", w, 1, 10 * kSec);
  REQUIRE(r.ok());
  CHECK_FALSE(r->allowed);
  CHECK(r->used == 20);
  CHECK(r->remaining == 0);
  // Retry once the 20 have decayed enough: 50s to the window's end + 3s.
  CHECK(r->retry_after_ns == 53 * kSec);
  CHECK_FALSE(store->Take("k", w, 1, 63 * kSec - 1)->allowed);
  CHECK(store->Take("k", w, 1, 63 * kSec)->allowed);
}

TEST_CASE("no double burst at a window edge") {
  auto store = NewMemoryStateStore();
  const MeterSpec w = Window(10, 60 * kSec);
  for (int i = 0; i < 10; ++i) REQUIRE(store->Take("k", w, 1, 59 * kSec)->allowed);
  // Just past the edge the previous window still weighs almost fully.
  int admitted = 0;
  for (int i = 0; i < 10; ++i) admitted += store->Take("k", w, 1, 61 * kSec)->allowed;
  CHECK(admitted == 0);
}

TEST_CASE("a window counts costs: a reservation fits whole or not at all") {
  auto store = NewMemoryStateStore();
  const MeterSpec w = Window(1000, 60 * kSec);
  CHECK(store->Take("t", w, 600, 0)->allowed);
  auto r = store->Take("t", w, 500, 0);
  CHECK_FALSE(r->allowed);
  CHECK(r->remaining == 400);
  CHECK(store->Take("t", w, 400, 0)->allowed);
  // Giving back 300 (a reconciled reservation) makes room for exactly 300.
  REQUIRE(store->Adjust("t", w, 0, -300, kSec).ok());
  CHECK_FALSE(store->Take("t", w, 301, kSec)->allowed);
  CHECK(store->Take("t", w, 300, kSec)->allowed);
  CHECK_FALSE(store->Take("t", w, 2000, kSec)->allowed);  // more than the whole budget
}

TEST_CASE("gcra: burst + 1 at once, then one per emission interval") {
  auto store = NewMemoryStateStore();
  const MeterSpec g = Gcra(60, 60 * kSec, 4);  // one a second, 5 at once
  for (int i = 0; i < 5; ++i) REQUIRE(store->Take("g", g, 1, 0)->allowed);
  auto r = store->Take("g", g, 1, 0);
  CHECK_FALSE(r->allowed);
  CHECK(r->retry_after_ns == kSec);
  CHECK_FALSE(store->Take("g", g, 1, kSec - 1)->allowed);
  CHECK(store->Take("g", g, 1, kSec)->allowed);
  CHECK_FALSE(store->Take("g", g, 1, kSec)->allowed);
  // After a long pause the bucket is full again, never fuller.
  int admitted = 0;
  for (int i = 0; i < 10; ++i) admitted += store->Take("g", g, 1, 1000 * kSec)->allowed;
  CHECK(admitted == 5);
}

TEST_CASE("gcra delay mode admits what fits within max_delay and says how long to hold it") {
  auto store = NewMemoryStateStore();
  const MeterSpec g = Gcra(10, 10 * kSec, 0);  // one a second, no burst
  auto first = store->Take("d", g, 1, 0, 2 * kSec);
  CHECK(first->allowed);
  CHECK(first->delay_ns == 0);
  auto second = store->Take("d", g, 1, 0, 2 * kSec);
  CHECK(second->allowed);
  CHECK(second->delay_ns == kSec);
  auto third = store->Take("d", g, 1, 0, 2 * kSec);
  CHECK(third->allowed);
  CHECK(third->delay_ns == 2 * kSec);
  auto fourth = store->Take("d", g, 1, 0, 2 * kSec);
  CHECK_FALSE(fourth->allowed);
  CHECK(fourth->retry_after_ns == kSec);  // then it would be within the 2s delay
}

TEST_CASE("a calendar period resets when the period index changes") {
  auto store = NewMemoryStateStore();
  MeterSpec day{Meter::kPeriod, 3, 86400 * kSec};
  day.period_index = 20000;
  day.period_left_ns = 3600 * kSec;
  for (int i = 0; i < 3; ++i) REQUIRE(store->Take("q", day, 1, 0)->allowed);
  auto r = store->Take("q", day, 1, 0);
  CHECK_FALSE(r->allowed);
  CHECK(r->retry_after_ns == 3600 * kSec);
  day.period_index = 20001;
  CHECK(store->Take("q", day, 1, 3601 * kSec)->allowed);
}

TEST_CASE("leases: at most the limit at once, released explicitly or by expiry") {
  auto store = NewMemoryStateStore();
  CHECK(store->Acquire("c", 1, 2, 0, 10 * kSec)->allowed);
  CHECK(store->Acquire("c", 2, 2, 0, 10 * kSec)->allowed);
  auto r = store->Acquire("c", 3, 2, kSec, 10 * kSec);
  CHECK_FALSE(r->allowed);
  CHECK(r->retry_after_ns == 9 * kSec);
  store->Release("c", 1);
  CHECK(store->Acquire("c", 3, 2, kSec, 10 * kSec)->allowed);
  CHECK_FALSE(store->Acquire("c", 4, 2, 2 * kSec, 10 * kSec)->allowed);
  // Lease 2 expires at 10s; lease 3 at 11s.
  CHECK(store->Acquire("c", 4, 2, 10 * kSec, 10 * kSec)->allowed);
}

TEST_CASE("keys are counted apart") {
  auto store = NewMemoryStateStore();
  const MeterSpec w = Window(1, kSec);
  REQUIRE(store->Take("a", w, 1, 0)->allowed);
  CHECK_FALSE(store->Take("a", w, 1, 0)->allowed);
  CHECK(store->Take("b", w, 1, 0)->allowed);
  CHECK(store->entries() == 2);
}

TEST_CASE("the store stays within max_entries; new keys past it are refused while all are live") {
  auto store = NewMemoryStateStore({.max_entries = 64, .shards = 4});
  int refused = 0;
  for (int i = 0; i < 1000; ++i) {
    auto r = store->Take("key" + std::to_string(i), Window(5, kSec), 1, 0);
    if (!r.ok()) {
      CHECK(r.status().code() == tosgate::Status::Code::kResourceExhausted);
      ++refused;
    }
  }
  CHECK(store->entries() <= 64);
  CHECK(refused >= 1000 - 64);
  CHECK(store->refusals() == static_cast<uint64_t>(refused));
  CHECK(store->evictions() == 0);  // nothing was idle
}

TEST_CASE("idle entries are evicted before busy ones") {
  auto store = NewMemoryStateStore({.max_entries = 8, .shards = 1});
  const MeterSpec w = Window(100, kSec);
  for (int i = 0; i < 7; ++i) (void)store->Take("idle" + std::to_string(i), w, 1, 0);
  for (int i = 0; i < 50; ++i) REQUIRE(store->Take("busy", w, 1, 10 * kSec)->allowed);
  // Filling up past the cap at 10s evicts the idle ones (idle after 2s), so
  // "busy" keeps its count of 50.
  for (int i = 0; i < 8; ++i) (void)store->Take("new" + std::to_string(i), w, 1, 10 * kSec);
  auto r = store->Take("busy", w, 1, 10 * kSec);
  CHECK(r->used == 51);
  CHECK(store->evictions() == 7);
}

// The attack: a caller being throttled sends from a flood of fresh keys
// (accounts, addresses) to push its own counter out of a full store and
// start over with a fresh budget.
TEST_CASE("a flood of fresh keys against a full store cannot reset a throttled key") {
  const MeterSpec window = Window(3, 60 * kSec);
  MeterSpec period{Meter::kPeriod, 3, 86400 * kSec};
  period.period_index = 7;
  period.period_left_ns = 3600 * kSec;
  for (const MeterSpec& spec : {window, Gcra(3, 60 * kSec, 2), period}) {
    CAPTURE(static_cast<int>(spec.meter));
    auto store = NewMemoryStateStore({.max_entries = 32, .shards = 2});
    for (int i = 0; i < 3; ++i) REQUIRE(store->Take("victim", spec, 1, kSec)->allowed);
    REQUIRE_FALSE(store->Take("victim", spec, 1, kSec)->allowed);
    int admitted = 0, refused = 0;
    for (int i = 0; i < 5000; ++i) {
      auto r = store->Take("flood" + std::to_string(i), spec, 1, 2 * kSec);
      r.ok() ? ++admitted : ++refused;
    }
    CHECK(admitted < 32);
    CHECK(refused == 5000 - admitted);
    CHECK(store->refusals() == static_cast<uint64_t>(refused));
    auto r = store->Take("victim", spec, 1, 3 * kSec);
    REQUIRE(r.ok());
    CHECK_FALSE(r->allowed);  // still throttled: its count survived
    CHECK(r->used >= 3);
  }
}

TEST_CASE("every kind of idle entry is evicted to make room") {
  auto store = NewMemoryStateStore({.max_entries = 4, .shards = 1});
  MeterSpec period{Meter::kPeriod, 3, 86400 * kSec};
  period.period_index = 1;
  period.period_left_ns = 10 * kSec;  // ends at 10s
  REQUIRE(store->Take("window", Window(3, kSec), 1, 0)->allowed);        // idle from 2s
  REQUIRE(store->Take("gcra", Gcra(3, 3 * kSec, 0), 1, 0)->allowed);     // refilled at 1s
  REQUIRE(store->Take("period", period, 1, 0)->allowed);                 // over at 10s
  REQUIRE(store->Acquire("lease", 1, 2, 0, 5 * kSec)->allowed);          // expires at 5s
  REQUIRE_FALSE(store->Take("new0", Window(3, kSec), 1, kSec / 2).ok());  // all live
  for (int i = 1; i <= 4; ++i)
    CHECK(store->Take("new" + std::to_string(i), Window(3, 100 * kSec), 1, 10 * kSec).ok());
  CHECK(store->evictions() == 4);
  CHECK(store->entries() == 4);
  CHECK(store->refusals() == 1);
}

TEST_CASE("a full store refuses a new lease holder instead of dropping held leases") {
  auto store = NewMemoryStateStore({.max_entries = 16, .shards = 1});
  REQUIRE(store->Acquire("victim", 1, 1, 0, 600 * kSec)->allowed);
  REQUIRE_FALSE(store->Acquire("victim", 2, 1, 0, 600 * kSec)->allowed);
  int refused = 0;
  for (int i = 0; i < 1000; ++i) {
    auto r = store->Acquire("flood" + std::to_string(i), 10 + i, 1, kSec, 600 * kSec);
    if (!r.ok()) {
      CHECK(r.status().code() == tosgate::Status::Code::kResourceExhausted);
      ++refused;
    }
  }
  CHECK(refused == 1000 - 15);
  CHECK(store->refusals() == 1000 - 15);
  CHECK_FALSE(store->Acquire("victim", 3, 1, 2 * kSec, 600 * kSec)->allowed);  // still held
  // Leases past their time are idle: room again.
  CHECK(store->Acquire("late", 5000, 1, 601 * kSec, 600 * kSec).ok());
  CHECK(store->evictions() >= 1);
}

TEST_CASE("successive sweeps find the few idle entries among many live ones") {
  auto store = NewMemoryStateStore({.max_entries = 2048, .shards = 1});
  const MeterSpec live = Window(5, 3600 * kSec), brief = Window(5, kSec);
  for (int i = 0; i < 2048; ++i)
    REQUIRE(store->Take("k" + std::to_string(i), i % 64 == 0 ? brief : live, 1, 0).ok());
  // 32 of them idle from 2s on, scattered; a sweep looks at 64 entries.
  int admitted = 0;
  for (int i = 0; i < 200; ++i)
    admitted += store->Take("new" + std::to_string(i), live, 1, 5 * kSec).ok();
  CHECK(admitted == 32);
  CHECK(store->evictions() == 32);
  CHECK(store->entries() == 2048);
}

TEST_CASE("bad arguments are an error, not a crash") {
  auto store = NewMemoryStateStore();
  CHECK_FALSE(store->Take("k", Window(1, 0), 1, 0).ok());
  CHECK_FALSE(store->Take("k", Window(0, kSec), 1, 0).ok());
  CHECK_FALSE(store->Take("k", Window(1, kSec), -1, 0).ok());
  CHECK_FALSE(store->Acquire("k", 1, 0, 0, kSec).ok());
}

// Runs under ThreadSanitizer in CI (scripts/test.sh builds this file with
// -fsanitize=thread).
TEST_CASE("exactness under concurrency: 8 threads, M >> N, exactly N admitted") {
  auto store = NewMemoryStateStore();
  constexpr int kThreads = 8, kPerThread = 2000, kCap = 1000;
  for (Meter meter : {Meter::kWindow, Meter::kGcra}) {
    MeterSpec spec{meter, kCap, 3600 * kSec};
    spec.burst = meter == Meter::kGcra ? kCap - 1 : 0;  // the whole cap at once
    const std::string key = meter == Meter::kWindow ? "window" : "gcra";
    std::atomic<int> admitted{0}, leased{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          if (store->Take(key, spec, 1, 5 * kSec)->allowed) admitted.fetch_add(1);
          if (store->Acquire(key, uint64_t(t) * kPerThread + i + 1, kCap, 5 * kSec, kSec)->allowed)
            leased.fetch_add(1);
        }
      });
    }
    for (auto& th : threads) th.join();
    CHECK(admitted.load() == kCap);
    CHECK(leased.load() == kCap);
  }
}
