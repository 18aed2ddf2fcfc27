#include <doctest/doctest.h>

#include "engine/state_store.h"

using namespace tosgate::engine;

constexpr int64_t kSec = 1'000'000'000;

TEST_CASE("a window admits exactly the limit, then says when to retry") {
  auto store = NewMemoryStateStore();
  for (int i = 0; i < 20; ++i) REQUIRE(store->WindowHit("k", 0, 60 * kSec, 20)->allowed);
  auto r = store->WindowHit("k", 10 * kSec, 60 * kSec, 20);
  REQUIRE(r.ok());
  CHECK_FALSE(r->allowed);
  CHECK(r->used == 20);
  // Retry once the 20 have decayed enough: 50s to the window's end + 3s.
  CHECK(r->retry_after_ns == 53 * kSec);
  CHECK_FALSE(store->WindowHit("k", 63 * kSec - 1, 60 * kSec, 20)->allowed);
  CHECK(store->WindowHit("k", 63 * kSec, 60 * kSec, 20)->allowed);
}

TEST_CASE("no double burst at a window edge") {
  auto store = NewMemoryStateStore();
  for (int i = 0; i < 10; ++i) REQUIRE(store->WindowHit("k", 59 * kSec, 60 * kSec, 10)->allowed);
  // Just past the edge the previous window still weighs almost fully.
  int admitted = 0;
  for (int i = 0; i < 10; ++i) admitted += store->WindowHit("k", 61 * kSec, 60 * kSec, 10)->allowed;
  CHECK(admitted == 0);
}

TEST_CASE("keys are counted apart") {
  auto store = NewMemoryStateStore();
  REQUIRE(store->WindowHit("a", 0, kSec, 1)->allowed);
  CHECK_FALSE(store->WindowHit("a", 0, kSec, 1)->allowed);
  CHECK(store->WindowHit("b", 0, kSec, 1)->allowed);
  CHECK(store->entries() == 2);
}

TEST_CASE("the store stays within max_entries and counts what it evicts") {
  auto store = NewMemoryStateStore({.max_entries = 64, .shards = 4});
  for (int i = 0; i < 1000; ++i) (void)store->WindowHit("key" + std::to_string(i), 0, kSec, 5);
  CHECK(store->entries() <= 64);
  CHECK(store->evictions() >= 1000 - 64);
}

TEST_CASE("bad arguments are an error, not a crash") {
  auto store = NewMemoryStateStore();
  CHECK_FALSE(store->WindowHit("k", 0, 0, 1).ok());
  CHECK_FALSE(store->WindowHit("k", 0, kSec, 0).ok());
}
