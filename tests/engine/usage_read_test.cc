// engine/usage.h: an account's usage against rate limits, token budgets
// and concurrency caps, read without counting anything.
#include <doctest/doctest.h>

#include "engine/rules/token_budget.h"
#include "engine/usage.h"
#include "tests/engine/test_support.h"
#include "tosgate/clock.h"

using namespace tosgate;

namespace {

constexpr int64_t kSec = 1'000'000'000;

engine::ScopeItem Scope(const char* name) {
  engine::ScopeItem s;
  std::string why;
  REQUIRE(engine::ParseScopeItem(name, &s, &why));
  return s;
}

std::unique_ptr<engine::Rule> Limit(std::string id, engine::LimitSpec l, const char* scope = "account") {
  engine::TieredLimits limits;
  limits.fallback = l;
  auto c = test::Common(std::move(id), Action::kThrottle);
  c.kind = "rate_limit";
  return std::make_unique<engine::RateLimitRule>(c, std::vector{Scope(scope)}, std::move(limits), 0);
}

std::unique_ptr<engine::Rule> Tokens(std::string id, int64_t tokens) {
  engine::TieredLimits limits;
  limits.fallback = engine::LimitSpec{engine::LimitKind::kWindow, tokens, 60 * kSec};
  auto c = test::Common(std::move(id), Action::kThrottle);
  c.kind = "token_budget";
  engine::TokenBudgetOptions o;
  o.reservation_ttl_ns = 60 * kSec;
  return std::make_unique<engine::TokenBudgetRule>(c, std::vector{Scope("account")}, std::move(limits), o);
}

struct Rig {
  FakeClock clock{1'767'225'600'000};
  std::unique_ptr<engine::StateStore> state = engine::NewMemoryStateStore();
  engine::Engine engine{{&clock, state.get(), nullptr, nullptr}};
  Rig() {
    auto snap = std::make_shared<engine::PolicySnapshot>();
    snap->settings.unmatched_operation.deny = false;
    snap->revision = "rev";
    snap->rules.push_back(Limit("per-minute", {engine::LimitKind::kWindow, 5, 60 * kSec}));
    engine::LimitSpec gcra{engine::LimitKind::kGcra, 10, 60 * kSec};
    gcra.burst = 9;  // ten at once
    snap->rules.push_back(Limit("paced", gcra));
    engine::LimitSpec conc{engine::LimitKind::kConcurrent, 3};
    conc.lease_ns = 30 * kSec;
    snap->rules.push_back(Limit("at-once", conc));
    snap->rules.push_back(Tokens("tokens", 100'000));
    snap->rules.push_back(Limit("per-ip", {engine::LimitKind::kWindow, 50, 60 * kSec}, "ip"));
    engine.Publish(snap);
  }
  std::vector<engine::LimitUsage> Usage(const Account& a) {
    auto rows = engine::AccountUsage(*engine.snapshot(), *state, a, clock.wall_ms(), clock.monotonic_ns());
    REQUIRE(rows.ok());
    return *rows;
  }
  Request Chat() {
    Request r = test::ChatRequest("a1", "free");
    r.body.max_tokens = 1000;
    r.body.prompt_chars = 4000;
    return r;
  }
};

const engine::LimitUsage& Row(const std::vector<engine::LimitUsage>& rows, std::string_view id) {
  for (const auto& r : rows)
    if (r.rule_id == id) return r;
  FAIL("no row " << id);
  return rows.front();
}

}  // namespace

TEST_CASE("usage: N requests taken show as N used; reading changes nothing") {
  Rig rig;
  const Account a = *rig.Chat().account;  // a copy: the request is a temporary
  // Before any request: the account's meters are untracked, and reading
  // them does not track them.
  auto fresh = rig.Usage(a);
  CHECK(rig.state->entries() == 0);
  CHECK(Row(fresh, "per-minute").used == 0);
  CHECK(Row(fresh, "per-minute").remaining == 5);
  CHECK(Row(fresh, "at-once").used == 0);

  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    Decision d = rig.engine.Check(rig.Chat());
    REQUIRE(d.effect == Effect::kAllow);
    ids.push_back(d.decision_id);
  }
  const size_t entries = rig.state->entries();
  auto rows = rig.Usage(a);
  REQUIRE(rows.size() == 5);
  CHECK(Row(rows, "per-minute").used == 3);
  CHECK(Row(rows, "per-minute").remaining == 2);
  CHECK(Row(rows, "per-minute").unit == "requests");
  CHECK(Row(rows, "per-minute").scope == "account=a1");
  CHECK(Row(rows, "per-minute").limit == "5 per 1m");
  CHECK(Row(rows, "per-minute").reset_ms > 0);
  // GCRA: remaining is what would be admitted now; used is amount minus
  // that, as the RateLimit headers count it.
  CHECK(Row(rows, "paced").amount == 19);
  CHECK(Row(rows, "paced").remaining == 7);
  // Concurrency: three leases held (no usage reported yet).
  CHECK(Row(rows, "at-once").unit == "concurrent");
  CHECK(Row(rows, "at-once").used == 3);
  CHECK(Row(rows, "at-once").remaining == 0);
  // Token reservations: 1000 prompt tokens + 1000 max_tokens each.
  CHECK(Row(rows, "tokens").unit == "tokens");
  CHECK(Row(rows, "tokens").used == 6000);
  // Per ip: a meter per address, none of them the account's.
  CHECK(Row(rows, "per-ip").scope == "…");
  CHECK(Row(rows, "per-ip").used == -1);

  // Reading a hundred times counts nothing, takes no lease and tracks no key.
  for (int i = 0; i < 100; ++i) rig.Usage(a);
  CHECK(rig.state->entries() == entries);
  auto again = rig.Usage(a);
  for (size_t i = 0; i < rows.size(); ++i) {
    CHECK(again[i].used == rows[i].used);
    CHECK(again[i].remaining == rows[i].remaining);
  }
  // A completed request gives its lease back and settles its tokens: the
  // reads see it (they read the live meters, not a copy).
  engine::Usage used;
  used.input_tokens = 10;
  used.output_tokens = 90;
  REQUIRE(rig.engine.ReportUsage(ids[0], used).ok());
  auto after = rig.Usage(a);
  CHECK(Row(after, "at-once").used == 2);
  CHECK(Row(after, "tokens").used == 4100);
  CHECK(Row(after, "per-minute").used == 3);
}

TEST_CASE("usage: a per-key limit has a row per key of the account; overrides are marked") {
  Rig rig;
  auto snap = std::make_shared<engine::PolicySnapshot>();
  snap->settings.unmatched_operation.deny = false;
  snap->rules.push_back(Limit("per-key", {engine::LimitKind::kWindow, 7, 60 * kSec}, "key"));
  rig.engine.Publish(snap);
  Account a;
  a.id = "a2";
  a.tier = "free";
  a.key_ids = {"k1", "k2"};
  a.limit_overrides.push_back({"per-key", 9, 0, 0});
  Request r = test::ChatRequest("a2");
  r.account = a;
  r.key_id = "k2";
  REQUIRE(rig.engine.Check(r).effect == Effect::kAllow);
  auto rows = rig.Usage(a);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].scope == "key=k1");
  CHECK(rows[0].used == 0);
  CHECK(rows[1].scope == "key=k2");
  CHECK(rows[1].used == 1);
  CHECK(rows[1].remaining == 8);
  CHECK(rows[1].overridden);
}

TEST_CASE("usage: StateStore::Peek reads what a zero-cost Take would, without the entry") {
  auto store = engine::NewMemoryStateStore();
  engine::MeterSpec window{engine::Meter::kWindow, 10, 60 * kSec};
  REQUIRE(store->Take("k", window, 4, 5 * kSec).ok());
  auto peek = store->Peek("k", window, 70 * kSec);
  auto take = store->Take("k", window, 0, 70 * kSec);
  REQUIRE(peek.ok());
  REQUIRE(take.ok());
  CHECK(peek->used == take->used);
  CHECK(peek->remaining == take->remaining);
  CHECK(peek->reset_ns == take->reset_ns);
  REQUIRE(store->Peek("untracked", window, kSec).ok());
  CHECK(store->entries() == 1);
  CHECK(*store->LeasesHeld("untracked", kSec) == 0);
  CHECK(store->entries() == 1);
  // Leases: counted while live, none taken by the read.
  for (uint64_t id = 1; id <= 3; ++id) REQUIRE(store->Acquire("c", id, 5, kSec, 10 * kSec)->allowed);
  store->Release("c", 2);
  CHECK(*store->LeasesHeld("c", 2 * kSec) == 2);
  CHECK(*store->LeasesHeld("c", 2 * kSec) == 2);
  CHECK(*store->LeasesHeld("c", 11 * kSec + 1) == 0);  // expired
  CHECK(store->Acquire("c", 4, 5, 2 * kSec, 10 * kSec)->used == 3);
}
