// `prices:` and `kind: cost_budget` through the loader: what compiles, the
// errors at file, line and column, the CSV price list, and a budget whose
// month ends at midnight in New York enforced by an engine on a fake clock.
#include <doctest/doctest.h>

#include <sstream>

#include "engine/accounts.h"
#include "engine/body_parser.h"
#include "engine/engine.h"
#include "engine/rules/cost_budget.h"
#include "policies/test_runner.h"
#include "tests/policies/test_support.h"
#include "tosgate/clock.h"

using namespace tosgate;
using test::AllErrors;
using test::HasError;
using test::kHead;
using test::LoadOne;

namespace {

const std::string kPrices =
    "prices:\n"                                                              // 4
    "  models:\n"                                                            // 5
    "    gpt-4o: {input: 2.50, output: 10.00, cached_input: 1.25}\n"         // 6
    "    \"claude-sonnet-4*\": {input: 3, output: 15, cache_write: 3.75}\n"  // 7
    "    o3: {input: 2, output: 8, reasoning: 8, max_output_tokens: 1000}\n";  // 8

std::string Budget(const std::string& limit, const std::string& extra = "") {
  return "rules:\n"
         "  - id: spend\n"
         "    kind: cost_budget\n"
         "    limit: " + limit + "\n" + extra;
}

}  // namespace

TEST_CASE("prices and a cost budget compile; tiers, zones and soft shares are read") {
  const auto r = LoadOne(kHead + kPrices +
                         Budget("{free: {usd: 5, per: month, timezone: America/New_York}, "
                                "pro: {usd: 100.50, per: 1w}}",
                                "    soft: [0.8, 0.5]\n    default_max_tokens: 512\n"));
  REQUIRE_MESSAGE(r.snapshot, AllErrors(r));
  const auto* rule = dynamic_cast<const engine::CostBudgetRule*>(r.snapshot->rules.at(0).get());
  REQUIRE(rule);
  CHECK(rule->common().reason == "cost-budget-exceeded");
  CHECK(rule->common().action == Action::kThrottle);
  const engine::LimitSpec& free = rule->limits().by_tier.at("free");
  CHECK(free.amount == 5 * engine::kNanoUsdPerUsd);
  CHECK(free.kind == engine::LimitKind::kMonthly);
  REQUIRE(free.zone);
  CHECK(free.zone->name() == "America/New_York");
  const engine::LimitSpec& pro = rule->limits().by_tier.at("pro");
  CHECK(pro.amount == 100'500'000'000);
  CHECK(pro.kind == engine::LimitKind::kWeekly);
  CHECK(!pro.zone);
  CHECK(rule->options().soft_permille == std::vector<int64_t>{500, 800});
  CHECK(rule->options().default_max_tokens == 512);
  CHECK(rule->prices().Find("claude-sonnet-4-5")->rates.cache_write == 3'750'000'000);
  CHECK(rule->prices().Find("gpt-4o")->rates.reasoning == 10 * engine::kNanoUsdPerUsd);
}

TEST_CASE("prices: negative and missing rates are errors at their line and column") {
  const auto r = LoadOne(kHead +
                         "prices:\n"
                         "  models:\n"
                         "    a: {input: -1, output: 2}\n"
                         "    b: {input: 1}\n"
                         "    c: {input: 1, output: 2, reasoning: lots}\n");
  CHECK(!r.snapshot);
  CHECK_MESSAGE(HasError(r, "p.yaml:6:16: prices.models.a.input: a rate must not be negative"),
                AllErrors(r));
  CHECK_MESSAGE(HasError(r, "p.yaml:7:8: prices.models.b.output: required key is missing"),
                AllErrors(r));
  CHECK_MESSAGE(HasError(r, "p.yaml:8:41: prices.models.c.reasoning: expected USD per million"),
                AllErrors(r));
}

TEST_CASE("cost budget: a model the rule is scoped to must have a price") {
  const auto r = LoadOne(kHead + kPrices +
                         "rules:\n"
                         "  - id: spend\n"
                         "    kind: cost_budget\n"
                         "    match: {models: [gpt-4o, gpt-5]}\n"
                         "    limit: {usd: 10, per: 1d}\n");
  CHECK(!r.snapshot);
  CHECK_MESSAGE(HasError(r, "p.yaml:12:30: rules[0].match.models[1]: model \"gpt-5\" has no price"),
                AllErrors(r));
}

TEST_CASE("cost budget: bad limits, zones and shares are errors at their position") {
  const auto r = LoadOne(kHead + kPrices +
                         Budget("{usd: 10, per: 1h, timezone: Mars/Olympus_Mons}",
                                "    soft: 1.5\n"));
  CHECK(!r.snapshot);
  CHECK_MESSAGE(HasError(r, "p.yaml:12:27: rules[0].limit.per: expected 1d, day, 1w, week or month"), AllErrors(r));
  CHECK_MESSAGE(HasError(r, "p.yaml:12:41: rules[0].limit.timezone: unknown time zone"),
                AllErrors(r));
  CHECK_MESSAGE(HasError(r, "p.yaml:13:11: rules[0].soft: a soft share must be between 0 and 1"),
                AllErrors(r));
  const auto escape = LoadOne(kHead + kPrices + Budget("{usd: 1, per: 1d, timezone: ../../etc/passwd}"));
  CHECK(HasError(escape, "p.yaml:12:40: rules[0].limit.timezone: \"../../etc/passwd\" is not a time zone"));
  const auto no_prices = LoadOne(kHead + Budget("{usd: 1, per: 1d}"));
  CHECK_MESSAGE(HasError(no_prices, "p.yaml:5:5: rules[0]: a cost_budget needs prices:"),
                AllErrors(no_prices));
}

TEST_CASE("prices: a CSV price list, errors at its own line and column; a second price must agree") {
  const std::string policy = kHead + "prices:\n  files: [prices.csv]\n" +
                             Budget("{usd: 1, per: 1d}");
  const auto ok = policies::LoadPolicyFiles(
      {{"p.yaml", policy},
       {"prices.csv", "# OpenAI\nmodel, input, output, cached_input\ngpt-4.1,2,8,0.5\ngpt-4.1-*,0.4,1.6,\n"}});
  REQUIRE_MESSAGE(ok.snapshot, AllErrors(ok));
  const auto* rule = dynamic_cast<const engine::CostBudgetRule*>(ok.snapshot->rules.at(0).get());
  CHECK(rule->prices().Find("gpt-4.1-mini")->rates.cached_input == 400'000'000);  // default: input
  CHECK(rule->prices().Find("gpt-4.1")->rates.cached_input == 500'000'000);

  const auto bad = policies::LoadPolicyFiles(
      {{"p.yaml", policy}, {"prices.csv", "model,input,output\ngpt-4.1,2,-8\nx,1\n"}});
  CHECK_MESSAGE(HasError(bad, "prices.csv:2:11: gpt-4.1.output: a rate must not be negative"),
                AllErrors(bad));
  CHECK_MESSAGE(HasError(bad, "prices.csv:3:1: expected 3 cells"), AllErrors(bad));

  const auto twice = policies::LoadPolicyFiles(
      {{"p.yaml", kHead + kPrices}, {"q.yaml", "apiVersion: tosgate/v1\nkind: Policy\n"
                                               "metadata: {name: q}\nprices:\n  models:\n"
                                               "    gpt-4o: {input: 5, output: 10}\n"}});
  CHECK_MESSAGE(HasError(twice, "q.yaml:6:5: prices.models.gpt-4o: model \"gpt-4o\" is already priced at p.yaml:6:5"),
                AllErrors(twice));
}

TEST_CASE("cost budget: a month boundary in New York, enforced on an injected clock") {
  const auto r = LoadOne(kHead + kPrices +
                         Budget("{usd: 0.01, per: month, timezone: America/New_York}") +
                         "operations:\n  chat: {methods: [POST], paths: [/v1/chat/completions]}\n");
  REQUIRE_MESSAGE(r.snapshot, AllErrors(r));
  // 2027-02-01T04:59:00Z is still January 31 in New York (EST, -5h).
  FakeClock clock(1801458000LL * 1000 - 60'000);
  auto state = engine::NewMemoryStateStore();
  engine::Engine engine({&clock, state.get()});
  engine.Publish(r.snapshot);
  Request req;
  req.method = "POST";
  req.path = "/v1/chat/completions";
  Account account;
  account.id = "a1";
  req.account = account;
  req.body.model = "gpt-4o";
  req.body.max_tokens = 400;  // 400 * $10 / 1M = $0.004 reserved
  CHECK(engine.Check(req).effect == Effect::kAllow);
  CHECK(engine.Check(req).effect == Effect::kAllow);
  const Decision refused = engine.Check(req);
  CHECK(refused.effect == Effect::kThrottle);
  REQUIRE(!refused.matches.empty());
  CHECK(refused.matches[0].resets_at == "2027-02-01T00:00:00-05:00");
  CHECK(refused.retry_after_s == 60);
  clock.advance_ms(59'999);
  CHECK(engine.Check(req).effect == Effect::kThrottle);
  clock.advance_ms(1);  // local midnight: February
  CHECK(engine.Check(req).effect == Effect::kAllow);
}

namespace {

// As the CLI builds a test request, with the body parsed by the engine.
Status BuildWithBody(const policies::TestRequest& t, Request* out) {
  out->method = t.method;
  out->path = t.path;
  out->client_ip = t.client_ip;
  if (!t.key.empty()) out->key_id = engine::KeyId(t.key);
  if (!t.body.empty()) return engine::ParseBody(t.body, &out->body);
  return Status::Ok();
}

}  // namespace

TEST_CASE("policy tests (tosgate test) cover cost budgets: usage, overrides, the month's end") {
  const auto loaded = LoadOne(kHead + kPrices +
                              Budget("{usd: 0.01, per: month, timezone: Europe/Berlin}",
                                     "    soft: 0.5\n") +
                              "operations:\n  chat: {methods: [POST], paths: [/v1/chat/completions]}\n");
  REQUIRE_MESSAGE(loaded.snapshot, AllErrors(loaded));
  // The runner's clock starts at 2026-01-01T00:00:00Z, 01:00 in Berlin.
  const std::string tests = R"(accounts:
  - {id: a1, tier: free, keys: [sk-a1]}
  - {id: big, tier: free, keys: [sk-big], limit_overrides: {spend: {usd: 1}}}
tests:
  - name: reserved at admission, repriced from usage with cached and reasoning tokens
    sequence:
      # 400 * $10 per million = $0.004 reserved; the usage costs $0.00225.
      - request: {path: /v1/chat/completions, key: sk-a1, body: {model: gpt-4o, max_tokens: 400, messages: []}}
        usage: {input_tokens: 1000, cached_input_tokens: 1000, output_tokens: 100}
        expect: {effect: allow}
      - request: {path: /v1/chat/completions, key: sk-a1, body: {model: gpt-4o, max_tokens: 400, messages: []}}
        expect: {effect: allow, rules: [], status: 200}
      - request: {path: /v1/chat/completions, key: sk-a1, body: {model: gpt-4o, max_tokens: 400, messages: []}}
        expect: {effect: throttle, rules: [spend], status: 429, reason: cost-budget-exceeded}
      - at: 31d
        request: {path: /v1/chat/completions, key: sk-a1, body: {model: gpt-4o, max_tokens: 400, messages: []}}
        expect: {effect: allow}
  - name: an account override raises the budget
    sequence:
      - {repeat: 3, request: {path: /v1/chat/completions, key: sk-big, body: {model: gpt-4o, max_tokens: 400, messages: []}}, expect: {effect: allow}}
  - name: an unpriced model is denied
    request: {path: /v1/chat/completions, key: sk-a1, body: {model: mystery, messages: []}}
    expect: {effect: deny, reason: model-unpriced, status: 403}
)";
  std::ostringstream out;
  const policies::TestReport report =
      policies::RunPolicyTests(loaded.snapshot, {{"t.test.yaml", tests}}, BuildWithBody, out);
  INFO(out.str());
  CHECK(report.failed == 0);
  CHECK(report.passed == 3);
  CHECK(report.errors.empty());
}

TEST_CASE("policy tests (tosgate test) cover batches: reserved whole at submission, settled from usage") {
  const auto loaded = LoadOne(kHead + kPrices + Budget("{usd: 0.01, per: month}", "") +
                              "operations:\n  batches: {methods: [POST], paths: [/v1/messages/batches, "
                              "/v1/batches]}\n");
  REQUIRE_MESSAGE(loaded.snapshot, AllErrors(loaded));
  // Each request of max_tokens 400 reserves $0.004: three are $0.012.
  const std::string one =
      R"({custom_id: r, params: {model: gpt-4o, max_tokens: 400, messages: []}})";
  const std::string tests = R"(accounts:
  - {id: a1, tier: free, keys: [sk-a1]}
tests:
  - name: a batch over budget is refused at submission; one under it is reserved and settled
    sequence:
      - request: {path: /v1/messages/batches, key: sk-a1, body: {requests: [)" + one + ", " + one +
                            ", " + one + R"(]}}
        expect: {effect: throttle, status: 429, reason: cost-budget-exceeded}
      - request: {path: /v1/messages/batches, key: sk-a1, body: {requests: [)" + one + ", " + one +
                            R"(]}}
        usage: {input_tokens: 20, output_tokens: 100}
        expect: {effect: allow}
      - request: {path: /v1/messages/batches, key: sk-a1, body: {requests: [)" + one + ", " + one +
                            R"(]}}
        expect: {effect: allow}
  - name: an OpenAI batch whose input file the gateway did not see is refused
    request: {path: /v1/batches, key: sk-a1, body: {input_file_id: file-x, endpoint: /v1/chat/completions, completion_window: 24h}}
    expect: {effect: deny, reason: batch-input-unknown, status: 403}
)";
  std::ostringstream out;
  const policies::TestReport report =
      policies::RunPolicyTests(loaded.snapshot, {{"b.test.yaml", tests}}, BuildWithBody, out);
  INFO(out.str());
  CHECK(report.failed == 0);
  CHECK(report.passed == 2);
  CHECK(report.errors.empty());
}
