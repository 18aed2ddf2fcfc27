// Spend made visible: per-tier totals (for /metrics), an account's spend
// against each budget (admin API, tosgate accounts spend), and the reserved
// and settled cost in the audit records.
#include <doctest/doctest.h>

#include <mutex>

#include "engine/rules/cost_budget.h"
#include "engine/rules/cost_budget_spend.h"
#include "tests/engine/test_support.h"
#include "tosgate/clock.h"

using namespace tosgate;

namespace {

constexpr int64_t kUsd = engine::kNanoUsdPerUsd;
constexpr int64_t kCent = kUsd / 100;
constexpr int64_t kJan1_2027_ms = 1798761600LL * 1000;

std::shared_ptr<const engine::PriceTable> Prices() {
  auto t = std::make_shared<engine::PriceTable>();
  engine::ModelPrice p;
  p.pattern = "m";
  p.rates = {kUsd, 2 * kUsd, kUsd / 10, kUsd, 4 * kUsd};
  t->Add(p);
  return t;
}

std::unique_ptr<engine::Rule> Budget(std::string id, std::string scope, int64_t nano) {
  engine::TieredLimits limits;
  engine::LimitSpec l;
  l.kind = engine::LimitKind::kMonthly;
  l.amount = nano;
  limits.by_tier["free"] = l;
  auto c = test::Common(std::move(id), Action::kThrottle);
  c.kind = "cost_budget";
  c.reason = "cost-budget-exceeded";
  engine::ScopeItem item;
  std::string why;
  REQUIRE(engine::ParseScopeItem(scope, &item, &why));
  return std::make_unique<engine::CostBudgetRule>(c, std::vector{item}, std::move(limits), Prices(),
                                                  engine::CostBudgetOptions{});
}

struct Records : engine::AuditSink {
  std::mutex mu;
  std::vector<engine::AuditRecord> all;
  Status Submit(engine::AuditRecord r) override {
    std::lock_guard lock(mu);
    all.push_back(std::move(r));
    return Status::Ok();
  }
};

struct Rig {
  FakeClock clock{kJan1_2027_ms};
  std::unique_ptr<engine::StateStore> state = engine::NewMemoryStateStore();
  Records records;
  engine::Engine engine{{&clock, state.get(), &records}};
  std::shared_ptr<engine::PolicySnapshot> snap = std::make_shared<engine::PolicySnapshot>();
  Rig() {
    snap->settings.unmatched_operation.deny = false;
    snap->rules.push_back(Budget("per-account", "account", 2 * kCent));
    snap->rules.push_back(Budget("per-org", "org", 10 * kCent));
    snap->rules.push_back(Budget("per-model", "model", 10 * kCent));
    engine.Publish(snap);
  }
};

// 4000 prompt characters and max_tokens 1000: $0.001 + $0.004 reserved.
Request Chat() {
  Request r = test::ChatRequest("a1", "free");
  r.account->org = "acme";
  r.body.model = "m";
  r.body.max_tokens = 1000;
  r.body.prompt_chars = 4000;
  return r;
}

}  // namespace

TEST_CASE("spend: per tier, reserved at admission and settled from usage, counted once") {
  Rig rig;
  const Decision d = rig.engine.Check(Chat());
  REQUIRE(d.effect == Effect::kAllow);
  auto rows = rig.engine.spend().Rows();
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].tier == "free");
  CHECK(rows[0].reserved == 5 * kCent / 10);  // three budgets priced it: counted once
  CHECK(rows[0].settled == 0);
  engine::Usage u;
  u.input_tokens = 1000, u.output_tokens = 100;  // $0.001 + $0.0002
  REQUIRE(rig.engine.ReportUsage(d.decision_id, u).ok());
  rows = rig.engine.spend().Rows();
  CHECK(rows[0].settled == 12 * kCent / 100);
}

TEST_CASE("spend: an account's spend to date against each budget") {
  Rig rig;
  const Decision d = rig.engine.Check(Chat());
  REQUIRE(d.effect == Effect::kAllow);
  engine::Usage u;
  u.input_tokens = 1000, u.output_tokens = 100;
  REQUIRE(rig.engine.ReportUsage(d.decision_id, u).ok());
  REQUIRE(rig.engine.Check(Chat()).effect == Effect::kAllow);  // $0.005 more, reserved
  const Account account = *Chat().account;
  auto spend = engine::AccountSpend(*rig.snap, *rig.state, account, rig.clock.wall_ms(),
                                    rig.clock.monotonic_ns());
  REQUIRE(spend.ok());
  REQUIRE(spend->size() == 3);
  const engine::BudgetSpend& acct = (*spend)[0];
  CHECK(acct.rule_id == "per-account");
  CHECK(acct.scope == "account=a1");
  CHECK(acct.spent == 12 * kCent / 100 + 5 * kCent / 10);
  CHECK(acct.limit == 2 * kCent);
  CHECK(acct.per == "month");
  CHECK(acct.timezone == "UTC");
  CHECK(acct.period_start == "2027-01-01T00:00:00+00:00");
  CHECK(acct.resets_at == "2027-02-01T00:00:00+00:00");
  CHECK((*spend)[1].scope == "org=acme");
  CHECK((*spend)[1].spent == acct.spent);
  CHECK((*spend)[2].spent == -1);  // per model: no one meter is the account's
  // Reading counted nothing.
  auto again = engine::AccountSpend(*rig.snap, *rig.state, account, rig.clock.wall_ms(),
                                    rig.clock.monotonic_ns());
  REQUIRE(again.ok());
  CHECK((*again)[0].spent == acct.spent);
  // Another tier has no budget here.
  Account pro = account;
  pro.tier = "pro";
  CHECK(engine::AccountSpend(*rig.snap, *rig.state, pro, rig.clock.wall_ms(), 0)->empty());
}

TEST_CASE("spend: the audit trail has the reserved cost and, with the usage, the settled one") {
  Rig rig;
  const Decision d = rig.engine.Check(Chat());
  REQUIRE(d.effect == Effect::kAllow);
  Request over = Chat();
  over.body.max_tokens = 100'000;  // $0.40: refused, nothing reserved
  REQUIRE(rig.engine.Check(over).effect == Effect::kThrottle);
  engine::Usage u;
  u.input_tokens = 1000, u.output_tokens = 100;
  REQUIRE(rig.engine.ReportUsage(d.decision_id, u, engine::UsageSource::kExternal).ok());
  REQUIRE(rig.records.all.size() == 3);
  CHECK(rig.records.all[0].cost_reserved_nano == 5 * kCent / 10);
  CHECK(rig.records.all[0].cost_settled_nano == -1);
  CHECK(rig.records.all[1].cost_reserved_nano == -1);
  CHECK(rig.records.all[2].kind == engine::RecordKind::kUsage);
  CHECK(rig.records.all[2].cost_reserved_nano == 5 * kCent / 10);
  CHECK(rig.records.all[2].cost_settled_nano == 12 * kCent / 100);
}

TEST_CASE("spend: the inline proxy's own usage reports are recorded when they settle a cost") {
  Rig rig;
  Request r = Chat();
  r.inline_proxy = true;
  const Decision d = rig.engine.Check(r);
  REQUIRE(d.effect == Effect::kAllow);
  REQUIRE(rig.engine.ReportUsage(d.decision_id, engine::Usage{}, engine::UsageSource::kInlineProxy).ok());
  REQUIRE(rig.records.all.size() == 2);
  // A stream cut before its usage: settled at what was reserved.
  CHECK(rig.records.all[1].cost_settled_nano == 5 * kCent / 10);
}
