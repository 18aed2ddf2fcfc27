// Cost budgets across a fleet: two engines sharing one Redis admit exactly
// what one engine admits, reservations and repriced usage included, on a
// month that ends at midnight in New York.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <random>
#include <sstream>

#include "engine/engine.h"
#include "engine/rules/cost_budget.h"
#include "storage/redis/state_store.h"
#include "tests/storage/redis_server.h"
#include "tosgate/clock.h"

namespace tosgate::test {
namespace {

constexpr int64_t kUsd = engine::kNanoUsdPerUsd;
constexpr int64_t kFeb1NyMs = 1801458000LL * 1000;  // 2027-02-01T00:00 in New York

std::shared_ptr<const engine::PolicySnapshot> Snapshot() {
  std::ifstream in("/usr/share/zoneinfo/America/New_York", std::ios::binary);
  std::ostringstream tzif;
  tzif << in.rdbuf();
  auto zone = engine::TimeZone::FromTzif("America/New_York", tzif.str());
  REQUIRE(zone.ok());
  auto prices = std::make_shared<engine::PriceTable>();
  engine::ModelPrice p;
  p.pattern = "m*";
  p.rates = {kUsd, 2 * kUsd, kUsd / 10, kUsd, 4 * kUsd};
  prices->Add(p);
  engine::TieredLimits limits;
  engine::LimitSpec l;
  l.kind = engine::LimitKind::kMonthly;
  l.amount = kUsd / 100;  // $0.01
  l.zone = *zone;
  limits.fallback = l;
  engine::RuleCommon c;
  c.id = "spend";
  c.kind = "cost_budget";
  c.action = Action::kThrottle;
  c.reason = "cost-budget-exceeded";
  engine::ScopeItem account;
  account.name = "account";
  auto snap = std::make_shared<engine::PolicySnapshot>();
  snap->settings.unmatched_operation.deny = false;  // no operations defined here
  snap->rules.push_back(std::make_unique<engine::CostBudgetRule>(
      c, std::vector{account}, std::move(limits), prices, engine::CostBudgetOptions{}));
  return snap;
}

std::unique_ptr<storage::RedisStateStore> Open(const RedisServer& redis, const std::string& prefix,
                                               const Clock* clock) {
  storage::RedisStateOptions o;
  o.url = redis.url();
  o.prefix = prefix;
  o.server_time = false;
  o.clock = clock;
  o.command_timeout = std::chrono::seconds(5);
  auto r = storage::RedisStateStore::Open(o);
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  return std::move(*r);
}

Request Chat(int i) {
  Request r;
  r.method = "POST";
  r.path = "/v1/chat/completions";
  Account a;
  a.id = i % 3 == 0 ? "a2" : "a1";
  r.account = a;
  r.body.model = "m1";
  r.body.max_tokens = 200 + 50 * (i % 5);  // $0.0008 to $0.0016 reserved
  r.body.prompt_chars = 400 * (i % 4);
  return r;
}

// The effects of a fixed run over `engines` in turn, each admitted request's
// usage reported to the engine that admitted it, across the month's end.
std::vector<Effect> RunFleet(std::vector<engine::Engine*> engines, FakeClock& clock) {
  std::vector<Effect> effects;
  for (int i = 0; i < 60; ++i) {
    if (i == 40) clock.advance_ms(120'000);  // 23:59 -> 00:01: February
    engine::Engine& e = *engines[i % engines.size()];
    const Decision d = e.Check(Chat(i));
    effects.push_back(d.effect);
    if (d.effect != Effect::kAllow || i % 2) continue;  // odd ones: streams cut, reservation kept
    engine::Usage u;
    u.input_tokens = 300, u.cached_input_tokens = 200, u.output_tokens = 120,
    u.reasoning_tokens = 40;
    REQUIRE(e.ReportUsage(d.decision_id, u).ok());
  }
  return effects;
}

}  // namespace

TEST_CASE("redis cost budget: two instances on Redis admit the same as one") {
  if (!RedisAvailable()) return;
  RedisServer redis;
  std::random_device rd;
  const std::string run = std::to_string(rd()) + std::to_string(rd());
  const auto snap = Snapshot();

  FakeClock one_clock(kFeb1NyMs - 60'000);
  auto one_state = Open(redis, "one:" + run + ":", &one_clock);
  engine::Engine one({&one_clock, one_state.get()});
  one.Publish(snap);
  const std::vector<Effect> alone = RunFleet({&one}, one_clock);

  FakeClock fleet_clock(kFeb1NyMs - 60'000);
  auto a_state = Open(redis, "fleet:" + run + ":", &fleet_clock);
  auto b_state = Open(redis, "fleet:" + run + ":", &fleet_clock);
  engine::Engine a({&fleet_clock, a_state.get()}), b({&fleet_clock, b_state.get()});
  a.Publish(snap);
  b.Publish(snap);
  const std::vector<Effect> fleet = RunFleet({&a, &b}, fleet_clock);

  CHECK(fleet == alone);
  // The run does meet the budget, before and after the month's end.
  const auto throttled = [&](size_t from, size_t to) {
    return std::count(alone.begin() + from, alone.begin() + to, Effect::kThrottle);
  };
  CHECK(std::count(alone.begin(), alone.end(), Effect::kAllow) > 20);
  CHECK(std::count(alone.begin(), alone.end(), Effect::kDeny) == 0);
  CHECK(throttled(0, 40) > 0);
  CHECK(throttled(40, 45) == 0);
  CHECK(a_state->counters().errors == 0);
  CHECK(b_state->counters().errors == 0);
}

}  // namespace tosgate::test
