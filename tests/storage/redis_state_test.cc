// The Redis StateStore against a real redis-server on loopback: the same
// answers as the memory store, exact limits under concurrency, keys that
// expire, and the failure semantics of docs/scaling.md.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <random>
#include <thread>

#include "engine/state_store.h"
#include "storage/redis/state_store.h"
#include "tests/storage/redis_server.h"
#include "tosgate/clock.h"

namespace tosgate::test {
namespace {

using engine::Meter;
using engine::MeterResult;
using engine::MeterSpec;
using storage::RedisStateOptions;
using storage::RedisStateStore;

constexpr int64_t kSec = 1'000'000'000;

// Keys of one test apart from any other's on the same server.
std::string RandomSuffix() {
  std::random_device rd;
  return std::to_string(rd()) + std::to_string(rd());
}

std::unique_ptr<RedisStateStore> OpenStore(const RedisServer& redis, const Clock* clock,
                                           bool server_time = false) {
  RedisStateOptions o;
  o.url = redis.url();
  o.prefix = "t:" + RandomSuffix() + ":";
  o.server_time = server_time;
  o.clock = clock;
  o.connections = 4;
  o.command_timeout = std::chrono::seconds(5);  // a loaded CI box is no failure
  auto r = RedisStateStore::Open(o);
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  return std::move(*r);
}

TEST_CASE("redis url parsing") {
  auto a = storage::ParseRedisUrl("redis://:s3cret@10.0.0.5:6380/2");
  REQUIRE(a.ok());
  CHECK(a->host == "10.0.0.5");
  CHECK(a->port == 6380);
  CHECK(a->password == "s3cret");
  CHECK(a->db == 2);
  auto v6 = storage::ParseRedisUrl("redis://[::1]:7000");
  REQUIRE(v6.ok());
  CHECK(v6->host == "::1");
  CHECK(v6->port == 7000);
  CHECK(storage::ParseRedisUrl("redis://localhost")->port == 6379);
  CHECK_FALSE(storage::ParseRedisUrl("http://localhost:6379").ok());
  CHECK_FALSE(storage::ParseRedisUrl("redis://localhost:99999").ok());
  CHECK_FALSE(storage::ParseRedisUrl("redis://localhost:6379/x").ok());
}

TEST_CASE("redis state: nothing listening or a wrong password is an error at start-up") {
  if (!RedisAvailable()) return;
  RedisStateOptions o;
  o.url = "redis://127.0.0.1:" + std::to_string(FreeLoopbackPorts(1).at(0));
  auto r = RedisStateStore::Open(o);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("127.0.0.1") != std::string::npos);

  RedisServer locked("pw-right");
  o.url = "redis://:pw-wrong@127.0.0.1:" + std::to_string(locked.port());
  r = RedisStateStore::Open(o);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("AUTH") != std::string::npos);
  o.url = locked.url();
  CHECK(RedisStateStore::Open(o).ok());
}

// Differential: random takes, adjustments and leases on a few keys give the
// memory store's answers, field for field.
TEST_CASE("redis state answers as the memory store does") {
  if (!RedisAvailable()) return;
  RedisServer redis;
  FakeClock clock;
  auto remote = OpenStore(redis, &clock);
  auto local = engine::NewMemoryStateStore();
  std::mt19937_64 rng(7);
  const MeterSpec specs[] = {
      {Meter::kWindow, 10, 60 * kSec},
      {Meter::kGcra, 5, 10 * kSec, 3},
      {Meter::kPeriod, 20, 86400 * kSec, 0, 20000, 0},
  };
  int64_t now = 1'000 * kSec;
  for (int i = 0; i < 600; ++i) {
    now += static_cast<int64_t>(rng() % (3 * kSec)) / 1000 * 1000;  // whole microseconds
    const MeterSpec& base = specs[rng() % 3];
    MeterSpec spec = base;
    if (spec.meter == Meter::kPeriod) spec.period_left_ns = 86400 * kSec - now % (86400 * kSec);
    const std::string key = "k" + std::to_string(rng() % 3) + "-" + std::to_string(spec.limit);
    const int op = static_cast<int>(rng() % 10);
    CAPTURE(i);
    CAPTURE(key);
    if (op < 7) {
      const int64_t cost = static_cast<int64_t>(rng() % 3) + 1;
      auto a = local->Take(key, spec, cost, now, 0);
      auto b = remote->Take(key, spec, cost, now, 0);
      REQUIRE(b.ok());
      CHECK(a->allowed == b->allowed);
      CHECK(a->used == b->used);
      CHECK(a->remaining == b->remaining);
      // Redis counts whole microseconds; a rounded-up wait may differ by one.
      CHECK(std::abs(a->retry_after_ns / 1000 - b->retry_after_ns / 1000) <= 1);
      CHECK(std::abs(a->reset_ns / 1000 - b->reset_ns / 1000) <= 1);
    } else if (op < 9) {
      const int64_t delta = -static_cast<int64_t>(rng() % 2) - 1;
      REQUIRE(local->Adjust(key, spec, now, delta, now).ok());
      REQUIRE(remote->Adjust(key, spec, now, delta, now).ok());
    } else {
      const uint64_t lease = static_cast<uint64_t>(i) + 1;  // one per request, as the engine does
      auto a = local->Acquire("lease-" + key, lease, 2, now, 5 * kSec);
      auto b = remote->Acquire("lease-" + key, lease, 2, now, 5 * kSec);
      REQUIRE(b.ok());
      CHECK(a->allowed == b->allowed);
      CHECK(a->used == b->used);
      if (rng() % 2) {
        local->Release("lease-" + key, lease);
        remote->Release("lease-" + key, lease);
      }
    }
  }
  CHECK(remote->counters().errors == 0);
}

TEST_CASE("redis state: many threads (8) admit exactly the limit, on the server's clock") {
  if (!RedisAvailable()) return;
  RedisServer redis;
  auto store = OpenStore(redis, nullptr, /*server_time=*/true);
  const MeterSpec hour{Meter::kWindow, 100, 3600 * kSec};
  const MeterSpec budget{Meter::kWindow, 10'000, 3600 * kSec};
  std::atomic<int> admitted{0}, tokens{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 40; ++i) {
        auto r = store->Take("acct-1", hour, 1, 0, 0);
        if (r.ok() && r->allowed) admitted.fetch_add(1);
        auto b = store->Take("budget-1", budget, 700, 0, 0);
        if (b.ok() && b->allowed) tokens.fetch_add(700);
      }
    });
  for (auto& th : threads) th.join();
  CHECK(admitted.load() == 100);
  CHECK(tokens.load() == 9'800);  // 14 reservations of 700 fit in 10,000
  CHECK(store->counters().errors == 0);
}

TEST_CASE("redis state: down is Unavailable and counted; back, it recovers") {
  if (!RedisAvailable()) return;
  RedisServer redis;
  FakeClock clock;
  RedisStateOptions o;
  o.url = redis.url();
  o.clock = &clock;
  o.connections = 2;
  auto opened = RedisStateStore::Open(o);
  REQUIRE(opened.ok());
  auto& store = *opened;
  const MeterSpec spec{Meter::kWindow, 1000, 60 * kSec};
  REQUIRE(store->Take("k", spec, 1, 0, 0)->allowed);

  redis.Stop();
  auto down = store->Take("k", spec, 1, 0, 0);
  REQUIRE_FALSE(down.ok());
  CHECK(down.status().code() == Status::Code::kUnavailable);
  // Within the retry interval no connection is attempted: answered at once.
  CHECK_FALSE(store->Take("k", spec, 1, 0, 0).ok());
  CHECK(store->counters().errors >= 2);

  redis.Start();  // same port; it lost the script and the counts
  clock.advance_ms(600);
  auto back = store->Take("k", spec, 1, 0, 0);
  REQUIRE_MESSAGE(back.ok(), back.status().message());
  CHECK(back->allowed);
  CHECK(store->counters().reconnects >= 1);
}

TEST_CASE("fallback: with Redis down, each gateway admits at most its share of a limit") {
  if (!RedisAvailable()) return;
  RedisServer redis;
  FakeClock clock;
  RedisStateOptions o;
  o.url = redis.url();
  o.clock = &clock;
  auto opened = RedisStateStore::Open(o);
  REQUIRE(opened.ok());
  storage::FallbackStateStore store(std::move(*opened), engine::NewMemoryStateStore(), 0.1);
  const MeterSpec spec{Meter::kWindow, 100, 60 * kSec};
  redis.Stop();
  int admitted = 0;
  for (int i = 0; i < 50; ++i) {
    auto r = store.Take("acct", spec, 1, clock.monotonic_ns(), 0);
    REQUIRE(r.ok());
    admitted += r->allowed;
  }
  CHECK(admitted == 10);
  CHECK(store.fallbacks() == 50);
  auto lease = store.Acquire("conc", 1, 20, clock.monotonic_ns(), 10 * kSec);
  REQUIRE(lease.ok());
  CHECK(lease->allowed);
  CHECK(lease->remaining == 1);  // 2 leases (20 x 0.1), one held
}

}  // namespace
}  // namespace tosgate::test
