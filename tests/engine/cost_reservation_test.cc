// cost_budget rules in the engine: what is reserved at admission, how a
// usage report reprices it, what a stream cut before its usage keeps, soft
// shares, refusals that say when the budget resets, and exactness when 64
// requests arrive at once.
#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "engine/rules/cost_budget.h"
#include "tests/engine/test_support.h"
#include "tosgate/clock.h"

using namespace tosgate;

namespace {

constexpr int64_t kUsd = engine::kNanoUsdPerUsd;
constexpr int64_t kJan1_2027_ms = 1798761600LL * 1000;

// m: $1 per million input, $2 output, $0.10 cached, $1.25 cache write, $4 reasoning.
std::shared_ptr<const engine::PriceTable> Prices() {
  auto t = std::make_shared<engine::PriceTable>();
  engine::ModelPrice p;
  p.pattern = "m";
  p.rates = {kUsd, 2 * kUsd, kUsd / 10, kUsd * 5 / 4, 4 * kUsd};
  p.max_output_tokens = 4000;
  t->Add(p);
  return t;
}

constexpr int64_t kCent = kUsd / 100;

std::unique_ptr<engine::Rule> Budget(int64_t nano, std::vector<int64_t> soft = {}) {
  engine::TieredLimits limits;
  engine::LimitSpec l;
  l.kind = engine::LimitKind::kMonthly;
  l.amount = nano;
  limits.fallback = l;
  auto c = test::Common("spend", Action::kThrottle);
  c.kind = "cost_budget";
  c.reason = "cost-budget-exceeded";
  engine::ScopeItem account;
  account.name = "account";
  engine::CostBudgetOptions o;
  o.soft_permille = std::move(soft);
  return std::make_unique<engine::CostBudgetRule>(c, std::vector{account}, std::move(limits),
                                                  Prices(), o);
}

struct Rig {
  FakeClock clock{kJan1_2027_ms};
  std::unique_ptr<engine::StateStore> state = engine::NewMemoryStateStore();
  engine::Engine engine{{&clock, state.get()}};
  explicit Rig(std::unique_ptr<engine::Rule> rule) {
    auto snap = std::make_shared<engine::PolicySnapshot>();
    snap->settings.unmatched_operation.deny = false;  // no operations defined here
    snap->rules.push_back(std::move(rule));
    engine.Publish(std::move(snap));
  }
};

// 4000 prompt characters (1000 tokens) and max_tokens 1000: reserves
// 1000 * $1 + 1000 * $4 (reasoning may be all of it) per million = $0.005.
Request Chat(std::string model = "m", int64_t max_tokens = 1000) {
  Request r = test::ChatRequest();
  r.body.model = std::move(model);
  r.body.max_tokens = max_tokens;
  r.body.prompt_chars = 4000;
  return r;
}

}  // namespace

TEST_CASE("cost budget: reserves the estimate, refuses past it, says the budget and its reset") {
  Rig rig(Budget(2 * kCent));  // $0.02: four reservations of $0.005
  for (int i = 0; i < 4; ++i) CHECK(rig.engine.Check(Chat()).effect == Effect::kAllow);
  const Decision d = rig.engine.Check(Chat());
  CHECK(d.effect == Effect::kThrottle);
  CHECK(d.status == 429);
  CHECK(d.reason == "cost-budget-exceeded");
  REQUIRE(d.matches.size() == 1);
  CHECK(d.matches[0].resets_at == "2027-02-01T00:00:00+00:00");
  CHECK(d.matches[0].detail.find("budget $0.02 per month (UTC)") != std::string::npos);
  CHECK(d.retry_after_s == 31 * 86400);
  bool policy = false;
  for (const auto& [k, v] : d.headers)
    if (k == "RateLimit-Policy") policy = v == "\"spend\";q=2;w=2678400;qu=\"usd-cents\"";
  CHECK(policy);
}

TEST_CASE("cost budget: the output estimate is capped by the model's max_output_tokens") {
  Rig rig(Budget(2 * kCent));
  // max_tokens 1M would reserve $4; capped at 4000 it reserves $0.017.
  CHECK(rig.engine.Check(Chat("m", 1'000'000)).effect == Effect::kAllow);
  CHECK(rig.engine.Check(Chat("m", 1'000'000)).effect == Effect::kThrottle);
}

TEST_CASE("cost budget: usage reprices the reservation; cached and reasoning tokens count") {
  Rig rig(Budget(2 * kCent));
  const Decision first = rig.engine.Check(Chat());
  REQUIRE(first.effect == Effect::kAllow);
  // 1000 input of which 800 cached, 100 output of which 50 reasoning:
  // 200 * 1000 + 800 * 100 + 50 * 2000 + 50 * 4000 nano = $0.00058.
  engine::Usage u;
  u.input_tokens = 1000, u.output_tokens = 100, u.cached_input_tokens = 800,
  u.reasoning_tokens = 50;
  REQUIRE(rig.engine.ReportUsage(first.decision_id, u).ok());
  // $0.02 - $0.00058 leaves room for three reservations of $0.005, not four.
  int admitted = 0;
  while (rig.engine.Check(Chat()).effect == Effect::kAllow) ++admitted;
  CHECK(admitted == 3);
}

TEST_CASE("cost budget: a stream cut before its usage event is charged what was reserved") {
  Rig cut(Budget(12 * kCent / 10)), reported(Budget(12 * kCent / 10));  // $0.012
  const Decision a = cut.engine.Check(Chat()), b = reported.engine.Check(Chat());
  // The inline proxy saw no usage: every count is -1, the reservation stands.
  REQUIRE(cut.engine.ReportUsage(a.decision_id, engine::Usage{}, engine::UsageSource::kExternal).ok());
  engine::Usage small;
  small.input_tokens = 10, small.output_tokens = 10;
  REQUIRE(reported.engine.ReportUsage(b.decision_id, small).ok());
  int after_cut = 0, after_report = 0;
  while (cut.engine.Check(Chat()).effect == Effect::kAllow) ++after_cut;
  while (reported.engine.Check(Chat()).effect == Effect::kAllow) ++after_report;
  CHECK(after_cut == 1);     // $0.012 - $0.005 kept: one more reservation
  CHECK(after_report == 2);  // $0.012 - $0.00003: two more
  engine::Usage none;
  CHECK(cut.engine.ReportUsage(a.decision_id, none).code() == Status::Code::kNotFound);
}

TEST_CASE("cost budget: soft shares flag admitted requests past them") {
  Rig rig(Budget(2 * kCent, {500}));
  CHECK(rig.engine.Check(Chat()).matches.empty());   // $0.005 of $0.02
  const Decision half = rig.engine.Check(Chat());    // $0.010: 50%
  CHECK(half.effect == Effect::kAllow);
  REQUIRE(half.matches.size() == 1);
  CHECK(half.matches[0].reason == "cost-budget-soft");
  CHECK(half.matches[0].action == Action::kFlag);
}

TEST_CASE("cost budget: an unpriced model is refused, not charged nothing") {
  Rig rig(Budget(2 * kCent));
  const Decision d = rig.engine.Check(Chat("unknown-model"));
  CHECK(d.effect == Effect::kDeny);
  CHECK(d.reason == "model-unpriced");
}

TEST_CASE("cost budget: the new month starts afresh at its boundary") {
  Rig rig(Budget(1 * kCent));
  CHECK(rig.engine.Check(Chat()).effect == Effect::kAllow);
  CHECK(rig.engine.Check(Chat()).effect == Effect::kAllow);
  CHECK(rig.engine.Check(Chat()).effect == Effect::kThrottle);
  rig.clock.advance_ms(31LL * 86'400'000 - 1);  // 2027-01-31T23:59:59.999Z
  CHECK(rig.engine.Check(Chat()).effect == Effect::kThrottle);
  rig.clock.advance_ms(1);
  CHECK(rig.engine.Check(Chat()).effect == Effect::kAllow);
}

TEST_CASE("cost budget: 64 concurrent requests never exceed the budget") {
  Rig rig(Budget(10 * kCent));  // $0.10: exactly twenty reservations of $0.005
  std::atomic<int> admitted{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 64; ++t)
    threads.emplace_back([&] {
      while (!go.load()) std::this_thread::yield();
      if (rig.engine.Check(Chat()).effect == Effect::kAllow) admitted.fetch_add(1);
    });
  go = true;
  for (auto& th : threads) th.join();
  CHECK(admitted.load() == 20);
}
