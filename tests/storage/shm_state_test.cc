// The shared-memory StateStore (storage/shm/): the memory store's exactness
// and bound cases, then what only it can do: several processes counting one
// limit.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "engine/state_store.h"
#include "storage/shm/state_store.h"

using namespace tosgate::engine;
using tosgate::storage::AttachShmState;
using tosgate::storage::InitShmState;
using tosgate::storage::ShmRegion;
using tosgate::storage::ShmStateBytes;
using tosgate::storage::ShmStateOptions;

namespace {

constexpr int64_t kSec = 1'000'000'000;

MeterSpec Window(int64_t limit, int64_t period) { return {Meter::kWindow, limit, period}; }
MeterSpec Gcra(int64_t limit, int64_t period, int64_t burst) {
  MeterSpec m{Meter::kGcra, limit, period};
  m.burst = burst;
  return m;
}

// A region and a store over it; `stripes` of `slots` each.
struct Shm {
  std::unique_ptr<ShmRegion> region;
  std::unique_ptr<StateStore> store;
  StateStore* operator->() { return store.get(); }
};

Shm MakeShm(size_t entries = 4096, size_t slots = 64) {
  ShmStateOptions opts{.slots_per_stripe = slots};
  Shm s;
  s.region = ShmRegion::Create(ShmStateBytes(entries, opts)).value();
  REQUIRE(InitShmState(s.region->base(), s.region->bytes(), opts).ok());
  s.store = AttachShmState(s.region->base(), s.region->bytes()).value();
  return s;
}

}  // namespace

TEST_CASE("shm: a window admits exactly the limit, then says when to retry") {
  auto store = MakeShm();
  const MeterSpec w = Window(20, 60 * kSec);
  for (int i = 0; i < 20; ++i) REQUIRE(store->Take("k", w, 1, 0)->allowed);
  auto r = store->Take("k", w, 1, 10 * kSec);
  REQUIRE(r.ok());
  CHECK_FALSE(r->allowed);
  CHECK(r->used == 20);
  CHECK(r->retry_after_ns == 53 * kSec);
  CHECK_FALSE(store->Take("k", w, 1, 63 * kSec - 1)->allowed);
  CHECK(store->Take("k", w, 1, 63 * kSec)->allowed);
}

TEST_CASE("shm: costs, refunds, gcra with delay and calendar periods count as in memory") {
  auto shm = MakeShm();
  auto mem = NewMemoryStateStore();
  MeterSpec day{Meter::kPeriod, 3, 86400 * kSec};
  day.period_index = 20000;
  day.period_left_ns = 3600 * kSec;
  const MeterSpec specs[] = {Window(1000, 60 * kSec), Gcra(10, 10 * kSec, 2), day};
  // The same sequence of calls on both stores gives the same answers.
  for (const MeterSpec& spec : specs) {
    CAPTURE(static_cast<int>(spec.meter));
    for (int step = 0; step < 40; ++step) {
      const int64_t now = step * kSec / 2, cost = 1 + step % 7 * (spec.limit / 10);
      auto a = shm->Take("k", spec, cost, now, step % 3 == 0 ? 2 * kSec : 0);
      auto b = mem->Take("k", spec, cost, now, step % 3 == 0 ? 2 * kSec : 0);
      REQUIRE(a.ok());
      REQUIRE(b.ok());
      CHECK(a->allowed == b->allowed);
      CHECK(a->used == b->used);
      CHECK(a->remaining == b->remaining);
      CHECK(a->retry_after_ns == b->retry_after_ns);
      CHECK(a->delay_ns == b->delay_ns);
      if (step % 5 == 0) {
        REQUIRE(shm->Adjust("k", spec, now, -cost / 2, now).ok());
        REQUIRE(mem->Adjust("k", spec, now, -cost / 2, now).ok());
      }
    }
  }
}

TEST_CASE("shm: leases, released explicitly or by expiry") {
  auto store = MakeShm();
  CHECK(store->Acquire("c", 1, 2, 0, 10 * kSec)->allowed);
  CHECK(store->Acquire("c", 2, 2, 0, 10 * kSec)->allowed);
  auto r = store->Acquire("c", 3, 2, kSec, 10 * kSec);
  CHECK_FALSE(r->allowed);
  CHECK(r->retry_after_ns == 9 * kSec);
  store->Release("c", 1);
  CHECK(store->Acquire("c", 3, 2, kSec, 10 * kSec)->allowed);
  CHECK_FALSE(store->Acquire("c", 4, 2, 2 * kSec, 10 * kSec)->allowed);
  CHECK(store->Acquire("c", 4, 2, 10 * kSec, 10 * kSec)->allowed);
  CHECK(store->entries() == 2);
}

TEST_CASE("shm: the table's bound; new keys past it refused while all are live") {
  auto store = MakeShm(64, 16);
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
  CHECK(store->evictions() == 0);
}

TEST_CASE("shm: idle entries of every kind are evicted, counted, and a live count survives a flood") {
  auto store = MakeShm(4, 4);
  MeterSpec period{Meter::kPeriod, 3, 86400 * kSec};
  period.period_index = 1;
  period.period_left_ns = 10 * kSec;
  REQUIRE(store->Take("window", Window(3, kSec), 1, 0)->allowed);
  REQUIRE(store->Take("gcra", Gcra(3, 3 * kSec, 0), 1, 0)->allowed);
  REQUIRE(store->Take("period", period, 1, 0)->allowed);
  REQUIRE(store->Acquire("lease", 1, 2, 0, 5 * kSec)->allowed);
  REQUIRE_FALSE(store->Take("new0", Window(3, kSec), 1, kSec / 2).ok());
  for (int i = 1; i <= 4; ++i)
    CHECK(store->Take("new" + std::to_string(i), Window(3, 100 * kSec), 1, 10 * kSec).ok());
  CHECK(store->evictions() == 4);
  CHECK(store->entries() == 4);
  CHECK(store->refusals() == 1);

  // The attack: fresh keys pushing a throttled one out. It is live: it stays.
  auto victim = MakeShm(32, 32);
  const MeterSpec w = Window(3, 60 * kSec);
  for (int i = 0; i < 3; ++i) REQUIRE(victim->Take("victim", w, 1, kSec)->allowed);
  int admitted = 0;
  for (int i = 0; i < 5000; ++i) admitted += victim->Take("flood" + std::to_string(i), w, 1, 2 * kSec).ok();
  CHECK(admitted == 31);
  CHECK_FALSE(victim->Take("victim", w, 1, 3 * kSec)->allowed);
}

TEST_CASE("shm: a region is checked before it is used") {
  auto region = ShmRegion::Create(1 << 16).value();
  CHECK_FALSE(AttachShmState(region->base(), region->bytes()).ok());  // never initialized
  CHECK_FALSE(InitShmState(region->base(), 100).ok());                 // too small for a stripe
  REQUIRE(InitShmState(region->base(), region->bytes()).ok());
  CHECK_FALSE(AttachShmState(region->base(), 128).ok());  // says it is bigger than it is
  auto store = AttachShmState(region->base(), region->bytes());
  REQUIRE(store.ok());
  CHECK_FALSE((*store)->Take("k", Window(0, kSec), 1, 0).ok());
  CHECK_FALSE((*store)->Acquire("k", 1, 0, 0, kSec).ok());
}

TEST_CASE("shm: exactness under concurrency, 8 threads, exactly N admitted") {
  auto store = MakeShm();
  constexpr int kThreads = 8, kPerThread = 1000, kCap = 1000;
  MeterSpec spec{Meter::kWindow, kCap, 3600 * kSec};
  std::atomic<int> admitted{0}, leased{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        if (store->Take("w", spec, 1, 5 * kSec)->allowed) admitted.fetch_add(1);
        if (store->Acquire("c", uint64_t(t) * kPerThread + i + 1, 40, 5 * kSec, kSec)->allowed)
          leased.fetch_add(1);
      }
    });
  for (auto& th : threads) th.join();
  CHECK(admitted.load() == kCap);
  CHECK(leased.load() == 40);
}

// What the store is for: separate processes (nginx workers) that map one
// region count one limit exactly. Each child reports its admissions in its
// exit code.
TEST_CASE("shm: exactness across 4 processes sharing one region") {
  auto store = MakeShm();
  constexpr int kProcs = 4, kPerProc = 200, kCap = 300;
  for (Meter meter : {Meter::kWindow, Meter::kGcra}) {
    MeterSpec spec{meter, kCap, 3600 * kSec};
    spec.burst = meter == Meter::kGcra ? kCap - 1 : 0;
    std::vector<pid_t> kids;
    for (int p = 0; p < kProcs; ++p) {
      pid_t pid = fork();
      REQUIRE(pid >= 0);
      if (pid == 0) {
        // A child attaches anew, as a worker does after fork.
        auto own = AttachShmState(store.region->base(), store.region->bytes());
        int n = 0;
        for (int i = 0; own.ok() && i < kPerProc; ++i) n += (*own)->Take("k", spec, 1, 5 * kSec)->allowed;
        _exit(own.ok() ? n : 255);
      }
      kids.push_back(pid);
    }
    int admitted = 0;
    for (pid_t pid : kids) {
      int status = 0;
      REQUIRE(waitpid(pid, &status, 0) == pid);
      REQUIRE(WIFEXITED(status));
      REQUIRE(WEXITSTATUS(status) != 255);
      admitted += WEXITSTATUS(status);
    }
    CHECK(admitted == kCap);
    CHECK_FALSE(store->Take("k", spec, 1, 5 * kSec)->allowed);
    store = MakeShm();
  }
}
