// cost_budget rules and batches: a batch's requests are counted and
// reserved at submission (Anthropic's inline requests, an OpenAI batch
// whose input file the gateway saw), a batch over budget is refused then,
// one under budget reserves and is settled when its results are reported,
// and a file upload itself costs nothing.
#include <doctest/doctest.h>

#include "engine/body_parser.h"
#include "engine/rules/cost_budget.h"
#include "tests/engine/test_support.h"
#include "tosgate/clock.h"

using namespace tosgate;

namespace {

constexpr int64_t kUsd = engine::kNanoUsdPerUsd;
constexpr int64_t kCent = kUsd / 100;
constexpr int64_t kJan1_2027_ms = 1798761600LL * 1000;

// m: $1 per million input, $2 output, $4 reasoning; output capped at 4000.
std::shared_ptr<const engine::PriceTable> Prices() {
  auto t = std::make_shared<engine::PriceTable>();
  engine::ModelPrice p;
  p.pattern = "m";
  p.rates = {kUsd, 2 * kUsd, kUsd / 10, kUsd, 4 * kUsd};
  p.max_output_tokens = 4000;
  t->Add(p);
  return t;
}

std::unique_ptr<engine::Rule> Budget(int64_t nano, engine::CostBudgetOptions o = {}) {
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
  return std::make_unique<engine::CostBudgetRule>(c, std::vector{account}, std::move(limits),
                                                  Prices(), o);
}

struct Rig {
  FakeClock clock{kJan1_2027_ms};
  std::unique_ptr<engine::StateStore> state = engine::NewMemoryStateStore();
  engine::Engine engine{{&clock, state.get()}};
  explicit Rig(std::unique_ptr<engine::Rule> rule) {
    auto snap = std::make_shared<engine::PolicySnapshot>();
    snap->settings.unmatched_operation.deny = false;
    snap->rules.push_back(std::move(rule));
    engine.Publish(std::move(snap));
  }
};

// An Anthropic message batch of `n` requests, each 4000 prompt characters
// (1000 tokens) and max_tokens 1000: each reserves $0.001 input and
// 1000 * $4 per million output = $0.005.
Request AnthropicBatch(int n) {
  std::string body = R"({"requests":[)";
  const std::string prompt(4000 - 5, 'x');  // "user\n" is counted with the text
  for (int i = 0; i < n; ++i) {
    if (i) body += ',';
    body += R"({"custom_id":"r)" + std::to_string(i) +
            R"(","params":{"model":"m","max_tokens":1000,"messages":[{"role":"user","content":")" +
            prompt + R"("}]}})";
  }
  body += "]}";
  Request r = test::ChatRequest();
  r.path = "/v1/messages/batches";
  REQUIRE(engine::ParseBody(body, &r.body).ok());
  return r;
}

}  // namespace

TEST_CASE("cost budget: a batch is reserved whole at submission, from its requests") {
  Request batch = AnthropicBatch(3);
  CHECK(batch.body.api == "batch");
  CHECK(batch.body.batch_requests == 3);
  CHECK(batch.body.batch_unbounded_requests == 0);
  auto rule = Budget(kUsd);
  const auto* cost = static_cast<const engine::CostBudgetRule*>(rule.get());
  const engine::ModelPrice* price = cost->prices().Find("m");
  REQUIRE(price);
  engine::TokenCounts t;
  const int64_t amount = cost->Estimate(*price, batch.body, &t);
  CHECK(t.output == 3000);  // three requests of max_tokens 1000
  CHECK(t.input >= 2990);
  CHECK(t.input <= 3010);
  CHECK(amount == t.input * 1000 + 3000 * 4000);
}

TEST_CASE("cost budget: requests of a batch without max_tokens reserve the default each") {
  Request r = test::ChatRequest();
  r.body.model = "m";
  r.body.api = "batch";
  r.body.batch_requests = 4;
  r.body.batch_unbounded_requests = 3;
  r.body.max_tokens = 10;
  engine::CostBudgetOptions o;
  o.default_max_tokens = 100;
  auto rule = Budget(kUsd, o);
  const auto* cost = static_cast<const engine::CostBudgetRule*>(rule.get());
  engine::TokenCounts t;
  (void)cost->Estimate(*cost->prices().Find("m"), r.body, &t);
  CHECK(t.output == 10 + 3 * 100);
}

TEST_CASE("cost budget: a batch over budget is refused at submission") {
  Rig rig(Budget(19 * kCent / 10));  // $0.019: four requests of $0.005 do not fit
  const Decision d = rig.engine.Check(AnthropicBatch(4));
  CHECK(d.effect == Effect::kThrottle);
  CHECK(d.status == 429);
  CHECK(d.reason == "cost-budget-exceeded");
  REQUIRE(d.matches.size() == 1);
  CHECK(d.matches[0].resets_at == "2027-02-01T00:00:00+00:00");
  // Nothing was kept: a batch of three fits afterwards.
  CHECK(rig.engine.Check(AnthropicBatch(3)).effect == Effect::kAllow);
}

TEST_CASE("cost budget: a batch under budget reserves, waits for its results, and is settled") {
  Rig rig(Budget(19 * kCent / 10));
  const Decision batch = rig.engine.Check(AnthropicBatch(3));  // $0.015 reserved
  REQUIRE(batch.effect == Effect::kAllow);
  Request one = AnthropicBatch(1);
  CHECK(rig.engine.Check(one).effect == Effect::kThrottle);
  // Hours later, past a request's reservation_ttl but within the batch's,
  // the results are reported: 3000 input, 300 output (no reasoning).
  rig.clock.advance_ms(6 * 3'600'000);
  (void)rig.engine.Check(one);  // runs the sweep of expired admissions
  engine::Usage u;
  u.input_tokens = 3000, u.output_tokens = 300;
  REQUIRE(rig.engine.ReportUsage(batch.decision_id, u, engine::UsageSource::kInlineProxy).ok());
  // Settled at $0.0036: $0.0154 left, three more batches of one ($0.005) fit.
  int admitted = 0;
  while (rig.engine.Check(one).effect == Effect::kAllow) ++admitted;
  CHECK(admitted == 3);
}

TEST_CASE("cost budget: an OpenAI batch whose input file was not seen is refused") {
  Rig rig(Budget(19 * kCent / 10));
  Request r = test::ChatRequest();
  r.path = "/v1/batches";
  REQUIRE(engine::ParseBody(R"({"input_file_id":"file-abc","endpoint":"/v1/chat/completions",
                                "completion_window":"24h"})",
                            &r.body)
              .ok());
  CHECK(r.body.batch_input_file == "file-abc");
  const Decision d = rig.engine.Check(r);
  CHECK(d.effect == Effect::kDeny);
  CHECK(d.reason == "batch-input-unknown");
  // Filled from the upload the gateway saw (api/request/batch_ledger.h), it
  // is counted like any batch.
  r.body.model = "m";
  r.body.batch_requests = 2;
  r.body.max_tokens = 1000;
  r.body.prompt_chars = 8000;
  CHECK(rig.engine.Check(r).effect == Effect::kAllow);     // $0.010
  CHECK(rig.engine.Check(r).effect == Effect::kThrottle);  // $0.020 > $0.019
}

TEST_CASE("cost budget: uploading a batch file costs nothing") {
  Rig rig(Budget(1 * kCent));
  Request r = AnthropicBatch(3);
  r.body.api = "files";
  r.path = "/v1/files";
  for (int i = 0; i < 5; ++i) CHECK(rig.engine.Check(r).effect == Effect::kAllow);
  CHECK(rig.engine.Check(AnthropicBatch(1)).effect == Effect::kAllow);
}
