// Engine::ReportUsage as an attack surface: a request the inline proxy
// relays is reconciled by the proxy alone, reported counts are bounded, and
// every accepted external report is audited.
#include <doctest/doctest.h>

#include <limits>
#include <string>
#include <vector>

#include "engine/rules/token_budget.h"
#include "tests/engine/test_support.h"
#include "tosgate/clock.h"

using namespace tosgate;
using engine::UsageSource;

namespace {

constexpr int64_t kSec = 1'000'000'000;

struct RecordingSink : engine::AuditSink {
  std::vector<engine::AuditRecord> records;
  bool fail = false;
  Status Submit(engine::AuditRecord r) override {
    if (fail) return Status::Unavailable("disk full");
    records.push_back(std::move(r));
    return Status::Ok();
  }
};

engine::ScopeItem AccountScope() {
  engine::ScopeItem s;
  s.name = "account";
  return s;
}

// One request in flight per account.
std::unique_ptr<engine::Rule> OneInFlight() {
  engine::TieredLimits limits;
  engine::LimitSpec l{engine::LimitKind::kConcurrent, 1};
  l.lease_ns = 600 * kSec;
  limits.fallback = l;
  auto c = test::Common("inflight", Action::kThrottle);
  c.kind = "rate_limit";
  return std::make_unique<engine::RateLimitRule>(c, std::vector{AccountScope()}, std::move(limits),
                                                 0);
}

// 1000 tokens a minute per account, input and output.
std::unique_ptr<engine::Rule> Budget() {
  engine::TieredLimits limits;
  limits.fallback = engine::LimitSpec{engine::LimitKind::kWindow, 1000, 60 * kSec};
  auto c = test::Common("tpm", Action::kThrottle);
  c.kind = "token_budget";
  engine::TokenBudgetOptions o;
  o.count = engine::TokenCount::kTotal;
  o.reservation_ttl_ns = 60 * kSec;
  return std::make_unique<engine::TokenBudgetRule>(c, std::vector{AccountScope()},
                                                   std::move(limits), o);
}

struct Fixture {
  FakeClock clock{1'767'225'600'000};
  std::unique_ptr<engine::StateStore> state = engine::NewMemoryStateStore();
  RecordingSink sink;
  engine::Engine engine{{&clock, state.get(), &sink, nullptr}};

  explicit Fixture(std::unique_ptr<engine::Rule> rule, bool fail_open = false) {
    auto snap = std::make_shared<engine::PolicySnapshot>();
    snap->revision = "rev-usage";
    snap->settings.fail_open = fail_open;
    snap->operations = {{"chat", {"POST"}, {"/v1/chat/completions"}}};
    snap->rules.push_back(std::move(rule));
    engine.Publish(std::move(snap));
  }
};

Request Chat(bool inline_proxy, int64_t max_tokens = -1) {
  Request r = test::ChatRequest("acct-u");
  r.inline_proxy = inline_proxy;
  if (max_tokens >= 0) {
    r.body.present = true;
    r.body.max_tokens = max_tokens;
  }
  return r;
}

}  // namespace

TEST_CASE("usage: an external report cannot release a request the inline proxy relays") {
  Fixture f(OneInFlight());
  const Decision a = f.engine.Check(Chat(true));
  REQUIRE(a.effect == Effect::kAllow);

  // The client read its own X-Tos-Decision-Id and reports zero usage.
  const Status s = f.engine.ReportUsage(a.decision_id, {0, 0}, UsageSource::kExternal);
  CHECK(s.code() == Status::Code::kFailedPrecondition);
  CHECK(s.message() == "usage of this decision is observed by the gateway");
  CHECK(f.engine.counters().usage_reports_refused == 1);
  // Its slot is still held: a second request in flight is throttled.
  CHECK(f.engine.Check(Chat(true)).effect == Effect::kThrottle);
  // The default source is external too.
  CHECK(f.engine.ReportUsage(a.decision_id, {0, 0}).code() == Status::Code::kFailedPrecondition);

  // The proxy's own report at the end of the stream releases it.
  CHECK(f.engine.ReportUsage(a.decision_id, {10, 20}, UsageSource::kInlineProxy).ok());
  CHECK(f.engine.Check(Chat(true)).effect == Effect::kAllow);
}

TEST_CASE("usage: a forward-auth decision takes its report from outside, and only once") {
  Fixture f(OneInFlight());
  const Decision a = f.engine.Check(Chat(false));
  CHECK(f.engine.ReportUsage(a.decision_id, {10, 20}, UsageSource::kExternal).ok());
  CHECK(f.engine.ReportUsage(a.decision_id, {10, 20}, UsageSource::kExternal).code() ==
        Status::Code::kNotFound);
  CHECK(f.engine.counters().usage_reports == 1);
}

TEST_CASE("usage: counts below -1 or above the bound are refused and change nothing") {
  Fixture f(Budget());
  const Decision a = f.engine.Check(Chat(false, 400));  // reserves 400
  REQUIRE(a.effect == Effect::kAllow);
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  const std::vector<engine::Usage> bad = {
      {-2, 0}, {0, -5}, {engine::kMaxReportedTokens + 1, 0}, {0, kMax}, {kMax, kMax}};
  for (const engine::Usage& u : bad) {
    INFO(u.input_tokens << " " << u.output_tokens);
    CHECK(f.engine.ReportUsage(a.decision_id, u).code() == Status::Code::kInvalidArgument);
  }
  CHECK(f.engine.counters().usage_reports_refused == bad.size());
  // The reservation is still open, and a report at the bound is taken.
  CHECK(f.engine.ReportUsage(a.decision_id, {0, 0}).ok());
  Fixture g(Budget());
  const Decision b = g.engine.Check(Chat(false, 400));
  CHECK(g.engine.ReportUsage(b.decision_id,
                             {engine::kMaxReportedTokens, engine::kMaxReportedTokens})
            .ok());
  // 2e9 tokens counted, no overflow: the budget is spent.
  CHECK(g.engine.Check(Chat(false, 1)).effect == Effect::kThrottle);
}

TEST_CASE("usage: an accepted external report is audited against its decision") {
  Fixture f(Budget());
  const Decision a = f.engine.Check(Chat(false, 400));
  REQUIRE(f.sink.records.size() == 1);
  REQUIRE(f.engine.ReportUsage(a.decision_id, {12, -1}).ok());
  REQUIRE(f.sink.records.size() == 2);
  const engine::AuditRecord& r = f.sink.records[1];
  CHECK(r.id == a.decision_id + ".usage");
  CHECK(engine::EffectWord(r) == "usage");
  CHECK(r.reason == "usage-report");
  CHECK(r.account == "acct-u");
  CHECK(r.operation == "chat");
  CHECK(r.policy_revision == "rev-usage");
  REQUIRE(r.matches.size() == 1);
  CHECK(r.matches[0].detail.find("decision " + a.decision_id) != std::string::npos);
  CHECK(r.matches[0].detail.find("input_tokens 12") != std::string::npos);
  CHECK(r.matches[0].detail.find("output_tokens not reported") != std::string::npos);

  // The inline proxy's own reports are what the gateway saw: not recorded again.
  const Decision b = f.engine.Check(Chat(true, 100));
  REQUIRE(f.engine.ReportUsage(b.decision_id, {1, 1}, UsageSource::kInlineProxy).ok());
  CHECK(f.sink.records.size() == 3);  // b's decision only
}

TEST_CASE("usage: a report that cannot be audited is refused when failing closed, and kept") {
  Fixture f(OneInFlight());
  const Decision a = f.engine.Check(Chat(false));
  f.sink.fail = true;
  CHECK(f.engine.ReportUsage(a.decision_id, {1, 1}).code() == Status::Code::kUnavailable);
  CHECK(f.engine.counters().audit_failures == 1);
  CHECK(f.engine.Check(Chat(false)).effect == Effect::kThrottle);  // still held
  f.sink.fail = false;
  CHECK(f.engine.ReportUsage(a.decision_id, {1, 1}).ok());  // the retry is taken
  CHECK(f.engine.Check(Chat(false)).effect == Effect::kAllow);

  Fixture open(OneInFlight(), /*fail_open=*/true);
  const Decision b = open.engine.Check(Chat(false));
  open.sink.fail = true;
  CHECK(open.engine.ReportUsage(b.decision_id, {1, 1}).ok());
  CHECK(open.engine.counters().fail_open == 1);
}
