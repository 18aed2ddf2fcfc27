// Resource bounds under a flood of distinct accounts: what admitted requests
// hold (Admissions: concurrency leases, token reservations) stays within
// max_admissions with the overflow counted, the state store within
// max_entries, and a flood of unknown keys and account ids adds nothing to
// the account directory.
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "engine/accounts.h"
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
  constexpr size_t kMaxEntries = 256;
  constexpr int kAccounts = 20000;
  FakeClock clock;
  auto state = engine::NewMemoryStateStore({.max_entries = kMaxEntries, .shards = 4});
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
  CHECK(state->entries() <= kMaxEntries);
  CHECK(state->evictions() >= kAccounts - kMaxEntries);

  // A request admitted now is still tracked: its report releases its lease.
  Decision d = engine.Check(ChatRequest("steady"));
  REQUIRE(d.effect == Effect::kAllow);
  CHECK(engine.ReportUsage(d.decision_id, {}).ok());
  // And the limit still holds for an account that keeps its leases.
  for (int i = 0; i < 4; ++i) CHECK(engine.Check(ChatRequest("busy")).effect == Effect::kAllow);
  CHECK(engine.Check(ChatRequest("busy")).effect == Effect::kThrottle);
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
