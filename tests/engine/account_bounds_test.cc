// Resource bounds under a flood of distinct accounts: what admitted requests
// hold (Admissions: concurrency leases, token reservations) stays within
// max_admissions with the overflow counted; a full state store refuses new
// keys rather than drop an account's live leases, and a full behaviour
// store gives newcomers no history rather than wipe a live account's; a
// flood of unknown keys and account ids adds nothing to the account
// directory.
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "engine/accounts.h"
#include "engine/distill/behavior_store.h"
#include "engine/distill/text_features.h"
#include "engine/engine.h"
#include "engine/rules/rate_limit.h"
#include "engine/snapshot.h"
#include "engine/state_store.h"
#include "tests/engine/test_support.h"
#include "tosgate/clock.h"

namespace tosgate::test {
namespace {

// Each account may have 4 requests in flight; every admitted request holds
// a lease in Admissions until its usage is reported (or it expires, 10 min).
std::unique_ptr<engine::Rule> PerAccountConcurrency() {
  engine::TieredLimits limits;
  limits.fallback = engine::LimitSpec{engine::LimitKind::kConcurrent, 4, 0, 0,
                                      int64_t{600} * 1'000'000'000};
  engine::ScopeItem account;
  account.name = "account";
  auto c = Common("inflight", Action::kThrottle);
  c.kind = "rate_limit";
  return std::make_unique<engine::RateLimitRule>(c, std::vector{account}, std::move(limits), 0);
}

TEST_CASE("bounds: a flood of accounts that never report keeps Admissions within max_admissions, drops counted") {
  constexpr size_t kMaxAdmissions = 512;
  constexpr int kAccounts = 20000;
  FakeClock clock;
  // Room for every lease: this is about Admissions (a full state store is
  // the next test).
  auto state = engine::NewMemoryStateStore({.max_entries = 2 * kAccounts, .shards = 4});
  engine::EngineOptions o{&clock, state.get(), nullptr, nullptr};
  o.max_admissions = kMaxAdmissions;
  engine::Engine engine(o);
  auto snap = std::make_shared<engine::PolicySnapshot>();
  // Defines no operations: not about settings.unmatched_operation, which
  // would refuse every POST.
  snap->settings.unmatched_operation.deny = false;
  snap->revision = "bounds";
  snap->rules.push_back(PerAccountConcurrency());
  engine.Publish(snap);

  for (int i = 0; i < kAccounts; ++i) {
    clock.advance_ms(1);
    REQUIRE(engine.Check(ChatRequest("acct-" + std::to_string(i))).effect == Effect::kAllow);
    if (i % 1000 == 0) REQUIRE(engine.admissions().size() <= kMaxAdmissions);
  }
  CHECK(engine.admissions().size() <= kMaxAdmissions);
  CHECK(engine.admissions().dropped() >= kAccounts - kMaxAdmissions);

  // A request admitted now is still tracked: its report releases its lease.
  Decision d = engine.Check(ChatRequest("steady"));
  REQUIRE(d.effect == Effect::kAllow);
  CHECK(engine.ReportUsage(d.decision_id, {}).ok());
  // And the limit still holds for an account that keeps its leases.
  for (int i = 0; i < 4; ++i) CHECK(engine.Check(ChatRequest("busy")).effect == Effect::kAllow);
  CHECK(engine.Check(ChatRequest("busy")).effect == Effect::kThrottle);
}

// The attack: an account at its concurrency limit floods from fresh accounts
// so that the store drops its leases and it may open more streams.
TEST_CASE("bounds: a flood of fresh accounts cannot drop the leases of an account at its limit") {
  constexpr size_t kMaxEntries = 256;
  FakeClock clock;
  auto state = engine::NewMemoryStateStore({.max_entries = kMaxEntries, .shards = 4});
  engine::Engine engine(engine::EngineOptions{&clock, state.get(), nullptr, nullptr});
  auto snap = std::make_shared<engine::PolicySnapshot>();
  snap->settings.unmatched_operation.deny = false;  // no operations defined
  snap->revision = "bounds";
  snap->rules.push_back(PerAccountConcurrency());
  engine.Publish(snap);

  for (int i = 0; i < 4; ++i) REQUIRE(engine.Check(ChatRequest("busy")).effect == Effect::kAllow);
  REQUIRE(engine.Check(ChatRequest("busy")).effect == Effect::kThrottle);
  int refused = 0;
  for (int i = 0; i < 5000; ++i) {
    clock.advance_ms(1);
    Decision d = engine.Check(ChatRequest("acct-" + std::to_string(i)));
    if (d.effect == Effect::kDeny) {
      CHECK(d.status == 503);  // failure_mode closed
      CHECK(d.reason == "internal-error");
      ++refused;
    }
  }
  CHECK(refused >= 5000 - static_cast<int>(kMaxEntries));
  CHECK(state->refusals() == static_cast<uint64_t>(refused));
  CHECK(state->entries() <= kMaxEntries);
  CHECK(engine.Check(ChatRequest("busy")).effect == Effect::kThrottle);  // leases kept
}

// Detection history (competitor_training): the same attack on the
// behaviour store, whose records are what flags a distiller.
TEST_CASE("bounds: a flood of fresh accounts cannot evict a live account's detection history") {
  engine::MemoryBehaviorOptions opts;
  opts.max_accounts = 64, opts.max_buckets = 64, opts.shards = 2;
  auto store = engine::NewMemoryBehaviorStore(opts);
  const uint64_t victim = engine::MixHash(7);
  store->Update(victim, 0, [](engine::AccountBehavior& a) {
    a.requests = 50;
    a.template_rate = 0.9f;
    a.last_ns = 0;
  });
  int fresh_history = 0;
  for (uint64_t i = 0; i < 5000; ++i) {
    const int64_t now = 1'000'000'000 + static_cast<int64_t>(i);  // all within live_ns
    store->Update(engine::MixHash(1000 + i), now, [&](engine::AccountBehavior& a) {
      ++a.requests;
      a.last_ns = now;
      fresh_history += a.requests == 1;
    });
  }
  CHECK(fresh_history == 5000);
  const engine::BehaviorStats st = store->stats();
  CHECK(st.accounts <= 64);
  CHECK(st.account_evictions == 0);
  CHECK(st.account_refusals >= 5000 - 63);
  uint32_t seen = 0;
  store->Update(victim, 2'000'000'000, [&](engine::AccountBehavior& a) { seen = a.requests; });
  CHECK(seen == 50);  // the history survived the flood
}

TEST_CASE("bounds: idle accounts make room, those without evidence first") {
  engine::MemoryBehaviorOptions opts;
  opts.max_accounts = 4, opts.shards = 1;
  opts.live_ns = 1000;
  auto store = engine::NewMemoryBehaviorStore(opts);
  auto put = [&](uint64_t key, int64_t now, float template_rate) {
    store->Update(engine::MixHash(key), now, [&](engine::AccountBehavior& a) {
      ++a.requests;
      a.template_rate = template_rate;
      a.last_ns = now;
    });
  };
  auto requests = [&](uint64_t key, int64_t now) {
    uint32_t n = 0;
    store->Update(engine::MixHash(key), now, [&](engine::AccountBehavior& a) { n = a.requests; });
    return n;
  };
  put(1, 0, 0.9f);  // risky, seen first
  put(2, 1, 0.0f);
  put(3, 2, 0.9f);  // risky
  put(4, 3, 0.0f);
  put(5, 500, 0.0f);  // all live: no history for 5
  CHECK(store->stats().account_refusals == 1);
  put(6, 2000, 0.0f);  // all idle: the plain ones go first
  put(7, 2001, 0.0f);
  CHECK(store->stats().account_evictions == 2);
  CHECK(requests(1, 2002) == 1);
  CHECK(requests(3, 2002) == 1);
  CHECK(requests(2, 2002) == 0);  // gone: a new record (that evicted 1, the oldest idle)
}

TEST_CASE("bounds: a flood of unknown keys and account ids adds nothing to the account directory") {
  engine::MemoryAccountDirectory dir;
  Account a;
  a.id = "known";
  a.tier = "pro";
  dir.Replace({a});
  int found = 0;
  for (int i = 0; i < 100000; ++i) {
    if (dir.FindByKey("key-" + std::to_string(i))) ++found;
    if (dir.FindById("acct-" + std::to_string(i))) ++found;
  }
  CHECK(found == 0);
  // Nothing learned from misses: the one account, found as before.
  CHECK(dir.size() == 1);
  REQUIRE(dir.FindById("known"));
  CHECK(dir.FindById("known")->tier == "pro");
}

}  // namespace
}  // namespace tosgate::test
