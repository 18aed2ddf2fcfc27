// Rate limits and token budgets through the engine: exactness under
// concurrency, reservations and their reconciliation, refunds, reloads.
#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "engine/rules/token_budget.h"
#include "tests/engine/test_support.h"
#include "tosgate/clock.h"

using namespace tosgate;
using test::ChatRequest;

namespace {

constexpr int64_t kSec = 1'000'000'000;

engine::ScopeItem AccountScope() {
  engine::ScopeItem s;
  s.name = "account";
  return s;
}

std::unique_ptr<engine::Rule> Budget(std::string id, int64_t tokens, int64_t per_s,
                                     engine::TokenCount count = engine::TokenCount::kTotal) {
  engine::TieredLimits limits;
  limits.fallback = engine::LimitSpec{engine::LimitKind::kWindow, tokens, per_s * kSec};
  auto c = test::Common(std::move(id), Action::kThrottle);
  c.kind = "token_budget";
  engine::TokenBudgetOptions o;
  o.count = count;
  o.reservation_ttl_ns = 60 * kSec;
  return std::make_unique<engine::TokenBudgetRule>(c, std::vector{AccountScope()},
                                                   std::move(limits), o);
}

std::unique_ptr<engine::Rule> Concurrent(std::string id, int64_t n, int64_t lease_s) {
  engine::TieredLimits limits;
  engine::LimitSpec l{engine::LimitKind::kConcurrent, n};
  l.lease_ns = lease_s * kSec;
  limits.fallback = l;
  auto c = test::Common(std::move(id), Action::kThrottle);
  return std::make_unique<engine::RateLimitRule>(c, std::vector{AccountScope()}, std::move(limits), 0);
}

struct Fixture {
  FakeClock clock{1'767'225'600'000};
  std::unique_ptr<engine::StateStore> state = engine::NewMemoryStateStore();
  engine::Engine engine{{&clock, state.get(), nullptr, nullptr}};

  void Publish(std::unique_ptr<engine::Rule> a, std::unique_ptr<engine::Rule> b = nullptr) {
    auto snap = std::make_shared<engine::PolicySnapshot>();
    // Defines no operations: not about settings.unmatched_operation, which
    // would refuse every POST.
    snap->settings.unmatched_operation.deny = false;
    snap->revision = "rev";
    snap->rules.push_back(std::move(a));
    if (b) snap->rules.push_back(std::move(b));
    engine.Publish(std::move(snap));
  }
};

Request WithTokens(int64_t max_tokens, int64_t prompt_chars = 0) {
  Request r = ChatRequest();
  r.body.present = true;
  r.body.max_tokens = max_tokens;
  r.body.prompt_chars = prompt_chars;
  return r;
}

}  // namespace

// Also built with -fsanitize=thread by scripts/test.sh.
TEST_CASE("a cap of N under 8 threads and M >> N requests admits exactly N") {
  Fixture f;
  constexpr int kCap = 500, kThreads = 8, kEach = 1000;
  f.Publish(test::PerAccountLimit("rate", kCap, 3600));
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&] {
      const Request r = ChatRequest();
      for (int i = 0; i < kEach; ++i)
        if (f.engine.Check(r).effect == Effect::kAllow) admitted.fetch_add(1);
    });
  for (auto& th : threads) th.join();
  CHECK(admitted.load() == kCap);
}

TEST_CASE("64 concurrent requests at one budget: admitted reservations never exceed it") {
  Fixture f;
  constexpr int64_t kBudget = 10'000;
  f.Publish(Budget("budget", kBudget, 60));
  // Reservations of different sizes, so that the budget cannot be split evenly.
  std::atomic<int64_t> reserved{0};
  std::atomic<int> admitted{0}, refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 64; ++t)
    threads.emplace_back([&, t] {
      const int64_t size = 300 + 37 * t;
      const Decision d = f.engine.Check(WithTokens(size));
      if (d.effect == Effect::kAllow) {
        reserved.fetch_add(size);
        admitted.fetch_add(1);
      } else {
        CHECK(d.status == 429);
        refused.fetch_add(1);
      }
    });
  for (auto& th : threads) th.join();
  CHECK(reserved.load() <= kBudget);
  CHECK(admitted.load() > 0);
  CHECK(refused.load() > 0);
  // Whatever was left is less than the smallest reservation that was refused
  // could need... at least no reservation of the smallest size still fits.
  CHECK(f.engine.Check(WithTokens(kBudget - reserved.load() + 1)).effect == Effect::kThrottle);
}

TEST_CASE("usage reports reconcile reservations; unknown or repeated reports are NotFound") {
  Fixture f;
  f.Publish(Budget("budget", 1000, 60));
  const Decision a = f.engine.Check(WithTokens(600, 400));  // 100 input + 600 output
  REQUIRE(a.effect == Effect::kAllow);
  CHECK(f.engine.Check(WithTokens(301)).effect == Effect::kThrottle);
  REQUIRE(f.engine.ReportUsage(a.decision_id, {50, 150}).ok());  // 200 used, not 700
  CHECK(f.engine.ReportUsage(a.decision_id, {50, 150}).code() == Status::Code::kNotFound);
  CHECK(f.engine.ReportUsage("no-such-decision", {}).code() == Status::Code::kNotFound);
  CHECK(f.engine.Check(WithTokens(800)).effect == Effect::kAllow);
  CHECK(f.engine.Check(WithTokens(1)).effect == Effect::kThrottle);
}

TEST_CASE("usage above the reservation is counted too") {
  Fixture f;
  f.Publish(Budget("budget", 1000, 60, engine::TokenCount::kOutput));
  const Decision a = f.engine.Check(WithTokens(100));
  REQUIRE(f.engine.ReportUsage(a.decision_id, {5000, 900}).ok());  // input does not count
  CHECK(f.engine.Check(WithTokens(100)).effect == Effect::kAllow);
  CHECK(f.engine.Check(WithTokens(1)).effect == Effect::kThrottle);
}

TEST_CASE("a reservation not reported within its TTL stays counted as reserved") {
  Fixture f;
  f.Publish(Budget("budget", 1000, 3600));
  const Decision a = f.engine.Check(WithTokens(900));
  REQUIRE(a.effect == Effect::kAllow);
  f.clock.advance_ns(61 * kSec);  // the TTL is 60s
  (void)f.engine.Check(WithTokens(1));  // sweeps expired admissions
  CHECK(f.engine.ReportUsage(a.decision_id, {0, 0}).code() == Status::Code::kNotFound);
  CHECK(f.engine.Check(WithTokens(100)).effect == Effect::kThrottle);
}

TEST_CASE("a request refused by a later limit gives back what earlier limits counted") {
  Fixture f;
  f.Publish(test::PerAccountLimit("rate", 3, 60), Budget("budget", 1000, 60));
  CHECK(f.engine.Check(WithTokens(1000)).effect == Effect::kAllow);
  // Refused by the budget: the rate limit must not keep counting them.
  for (int i = 0; i < 5; ++i) CHECK(f.engine.Check(WithTokens(10)).effect == Effect::kThrottle);
  CHECK(f.engine.counters().refunds.load() == 5);
  f.clock.advance_ns(120 * kSec);  // the budget window has passed; rate saw only 1 of 3
  CHECK(f.engine.Check(WithTokens(10)).effect == Effect::kAllow);
  CHECK(f.engine.Check(WithTokens(10)).effect == Effect::kAllow);
}

TEST_CASE("concurrency leases end with the usage report or their lease time") {
  Fixture f;
  f.Publish(Concurrent("inflight", 2, 30));
  const Decision a = f.engine.Check(ChatRequest());
  const Decision b = f.engine.Check(ChatRequest());
  REQUIRE(a.effect == Effect::kAllow);
  REQUIRE(b.effect == Effect::kAllow);
  const Decision c = f.engine.Check(ChatRequest());
  CHECK(c.effect == Effect::kThrottle);
  CHECK(c.retry_after_s == 30);
  REQUIRE(f.engine.ReportUsage(a.decision_id, {}).ok());
  CHECK(f.engine.Check(ChatRequest()).effect == Effect::kAllow);
  f.clock.advance_ns(30 * kSec);
  CHECK(f.engine.Check(ChatRequest()).effect == Effect::kAllow);
}

// Lease ids were (salt + sequence) | 1, which two consecutive requests
// share: ending one request's lease ended its neighbour's too. Of three
// consecutive requests the middle one always has such a neighbour.
TEST_CASE("ending one request's concurrency lease leaves the others' held") {
  Fixture f;
  f.Publish(Concurrent("inflight", 3, 30));
  const Decision a = f.engine.Check(ChatRequest());
  const Decision b = f.engine.Check(ChatRequest());
  const Decision c = f.engine.Check(ChatRequest());
  REQUIRE(a.effect == Effect::kAllow);
  REQUIRE(b.effect == Effect::kAllow);
  REQUIRE(c.effect == Effect::kAllow);
  REQUIRE(f.engine.ReportUsage(b.decision_id, {}).ok());
  CHECK(f.engine.Check(ChatRequest()).effect == Effect::kAllow);     // b's place
  CHECK(f.engine.Check(ChatRequest()).effect == Effect::kThrottle);  // a and c still held
}

TEST_CASE("counters survive a reload that keeps the rule id and limit; a changed limit starts afresh") {
  Fixture f;
  f.Publish(test::PerAccountLimit("rate", 3, 60));
  for (int i = 0; i < 3; ++i) REQUIRE(f.engine.Check(ChatRequest()).effect == Effect::kAllow);
  f.Publish(test::PerAccountLimit("rate", 3, 60));  // same id, same limit
  CHECK(f.engine.Check(ChatRequest()).effect == Effect::kThrottle);
  f.Publish(test::PerAccountLimit("rate", 4, 60));  // changed limit
  CHECK(f.engine.Check(ChatRequest()).effect == Effect::kAllow);
}

TEST_CASE("an account override replaces its tier's limit and counts apart") {
  Fixture f;
  f.Publish(test::PerAccountLimit("rate", 1, 60));
  Request r = ChatRequest();
  r.account->limit_overrides.push_back({"rate", 3, 0, 0});
  for (int i = 0; i < 3; ++i) CHECK(f.engine.Check(r).effect == Effect::kAllow);
  CHECK(f.engine.Check(r).effect == Effect::kThrottle);
  r.account->limit_overrides[0].rule_id = "other-rule";
  CHECK(f.engine.Check(r).effect == Effect::kAllow);  // back on the tier's own counter
}

TEST_CASE("ip/24 and ip/64 group client addresses") {
  engine::ScopeItem item;
  std::string error;
  REQUIRE(engine::ParseScopeItem("ip/24", &item, &error));
  Account account;
  Request r;
  const engine::EvalContext ctx{r, account, "", 0, 0};
  r.client_ip = "203.0.113.77";
  CHECK(engine::ScopeValue(item, ctx) == "203.0.113.0/24");
  r.client_ip = "2001:db8:1:2:3:4:5:6";
  CHECK(engine::ScopeValue(item, ctx) == "2001:db8:1:2:0:0:0:0/64");
  REQUIRE(engine::ParseScopeItem("ip/16/48", &item, &error));
  CHECK(engine::ScopeValue(item, ctx) == "2001:db8:1:0:0:0:0:0/48");
  r.client_ip = "not an address";
  CHECK(engine::ScopeValue(item, ctx) == "not an address");
  CHECK_FALSE(engine::ParseScopeItem("ip/0", &item, &error));
  CHECK_FALSE(engine::ParseScopeItem("ip/24/200", &item, &error));
  CHECK_FALSE(engine::ParseScopeItem("account/24", &item, &error));
  CHECK(error.find("only ip takes a prefix") != std::string::npos);
}

TEST_CASE("429s carry Retry-After, the RateLimit fields and a quota-exceeded problem naming the policies") {
  Fixture f;
  f.Publish(test::PerAccountLimit("rpm", 2, 60));
  (void)f.engine.Check(ChatRequest());
  const Decision ok = f.engine.Check(ChatRequest());
  auto header = [](const Decision& d, const std::string& name) {
    for (const auto& [k, v] : d.headers)
      if (k == name) return v;
    return std::string("(none)");
  };
  CHECK(header(ok, "RateLimit-Policy") == "\"rpm\";q=2;w=60");
  CHECK(header(ok, "RateLimit") == "\"rpm\";r=0;t=60");
  const Decision d = f.engine.Check(ChatRequest());
  CHECK(d.status == 429);
  CHECK(header(d, "Retry-After") == "90");
  CHECK(header(d, "RateLimit") == "\"rpm\";r=0;t=90");
  // The quota-exceeded problem: tests/api/decision_problem_test.cc.
}

// A limit's signature is part of every state key of its rule: its text is
// what keeps counters across reloads, so it must not change.
TEST_CASE("a limit's signature is its kind, amount, period and burst, and its zone when not UTC") {
  engine::LimitSpec window{engine::LimitKind::kWindow, 100, 60 * kSec};
  CHECK(window.Signature() == "w100/60000000000+0");
  engine::LimitSpec gcra{engine::LimitKind::kGcra, 5, kSec};
  gcra.burst = 3;
  CHECK(gcra.Signature() == "g5/1000000000+3");
  std::string key = "rule|";
  gcra.AppendSignature(&key);
  CHECK(key == "rule|g5/1000000000+3");
  engine::LimitSpec extreme{engine::LimitKind::kConcurrent, INT64_MAX, INT64_MIN};
  extreme.burst = -1;
  CHECK(extreme.Signature() == "c9223372036854775807/-9223372036854775808+-1");
}

namespace {
// The state key and scope text as BuildStateKey made them before its keys
// were built from per-rule prefixes (a std::string per scope value).
void ReferenceStateKey(std::string_view rule_id, const engine::LimitSpec& limit,
                       const std::vector<engine::ScopeItem>& scope,
                       const engine::EvalContext& ctx, std::string* key, std::string* text) {
  *key = std::string(rule_id) + "|" + limit.Signature();
  text->clear();
  for (const engine::ScopeItem& item : scope) {
    std::string v = engine::ScopeValue(item, ctx);
    *key += '\x1f';
    *key += v;
    if (!text->empty()) *text += ' ';
    *text += item.name + '=' + (v.empty() ? std::string("(none)") : v);
  }
}
}  // namespace

TEST_CASE("state keys from per-rule prefixes: the same bytes as built whole, for tiers, the "
          "fallback, overrides, every scope and empty values") {
  engine::TieredLimits limits;
  limits.fallback = engine::LimitSpec{engine::LimitKind::kWindow, 100, 60 * kSec};
  limits.by_tier["free"] = engine::LimitSpec{engine::LimitKind::kGcra, 5, kSec};
  limits.by_tier["free"].burst = 2;
  limits.by_tier["pro"] = engine::LimitSpec{engine::LimitKind::kDaily, 1000, 0};
  const std::string rule = "rate.account";
  const engine::StateKeyPrefixes prefixes(rule, limits);

  std::vector<std::vector<engine::ScopeItem>> scopes = {{}};
  for (const char* names : {"account", "key", "org", "model", "operation", "ip", "ip/24",
                            "ip/16/48", "account ip/24", "org model operation key"}) {
    std::vector<engine::ScopeItem> scope;
    std::string_view rest = names;
    while (!rest.empty()) {
      const size_t sp = rest.find(' ');
      engine::ScopeItem item;
      std::string error;
      REQUIRE(engine::ParseScopeItem(rest.substr(0, sp), &item, &error));
      scope.push_back(item);
      rest = sp == std::string_view::npos ? "" : rest.substr(sp + 1);
    }
    scopes.push_back(scope);
  }
  size_t compared = 0;
  for (const char* tier : {"free", "pro", "enterprise"}) {
    for (bool overridden : {false, true}) {
      for (const char* ip : {"203.0.113.77", "2001:db8:1:2:3:4:5:6", "", "not an address"}) {
        Account account;
        account.id = tier[0] == 'p' ? "" : "acct_123456789012345678901234567890";
        account.org = "org_7";
        account.tier = tier;
        if (overridden) account.limit_overrides.push_back({rule, 7, 0, 1});
        Request r;
        r.key_id = std::string(64, 'e');
        r.client_ip = ip;
        r.body.model = tier[0] == 'f' ? "" : "m-large";
        const engine::EvalContext ctx{r, account, tier[0] == 'e' ? "chat" : "", 0, 0};
        engine::LimitSpec scratch;
        const engine::LimitSpec* limit = limits.For(account, rule, &scratch);
        REQUIRE(limit);
        CHECK((limit == &scratch) == overridden);
        for (const auto& scope : scopes) {
          std::string want_key, want_text, key = "left over", built, text;
          ReferenceStateKey(rule, *limit, scope, ctx, &want_key, &want_text);
          prefixes.BuildKey(rule, *limit, scope, ctx, &key);
          engine::BuildStateKey(rule, *limit, scope, ctx, &built, &text);
          CHECK(key == want_key);
          CHECK(built == want_key);
          CHECK(text == want_text);
          CHECK(engine::ScopeText(scope, ctx) == want_text);
          ++compared;
        }
      }
    }
  }
  CHECK(compared == 3 * 2 * 4 * 11);
}
