#include <doctest/doctest.h>

#include <cstdio>
#include <set>
#include <thread>

#include "test_support.h"

using namespace tosgate;
using engine::Condition;
using test::Leaf;
using test::Str;

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

struct FailingStore : engine::StateStore {
  Result<engine::MeterResult> Take(std::string_view, const engine::MeterSpec&, int64_t, int64_t,
                                   int64_t) override {
    return Status::Unavailable("state store down");
  }
  Status Adjust(std::string_view, const engine::MeterSpec&, int64_t, int64_t, int64_t) override {
    return Status::Unavailable("state store down");
  }
  Result<engine::MeterResult> Acquire(std::string_view, uint64_t, int64_t, int64_t,
                                      int64_t) override {
    return Status::Unavailable("state store down");
  }
  void Release(std::string_view, uint64_t) override {}
  size_t entries() const override { return 0; }
  uint64_t evictions() const override { return 0; }
};

Condition PurposeIs(const std::string& p) { return Leaf("request.purpose", Condition::Op::kEq, Str(p)); }

struct Fixture {
  FakeClock clock{1'700'000'000'000};
  std::unique_ptr<engine::StateStore> state = engine::NewMemoryStateStore();
  RecordingSink sink;
  engine::MemoryAccountDirectory accounts;
  engine::Engine engine{{&clock, state.get(), &sink, &accounts}};

  void Publish(std::vector<std::unique_ptr<engine::Rule>> rules, bool fail_open = false) {
    auto snap = std::make_shared<engine::PolicySnapshot>();
    snap->revision = "rev1";
    snap->settings.fail_open = fail_open;
    snap->operations = {{"chat", {"POST"}, {"/v1/chat/completions"}}};
    for (auto& r : rules) snap->rules.push_back(std::move(r));
    engine.Publish(std::move(snap));
  }
};

std::vector<std::unique_ptr<engine::Rule>> Rules(std::unique_ptr<engine::Rule> a,
                                                 std::unique_ptr<engine::Rule> b = nullptr) {
  std::vector<std::unique_ptr<engine::Rule>> v;
  v.push_back(std::move(a));
  if (b) v.push_back(std::move(b));
  return v;
}

}  // namespace

TEST_CASE("a request no rule matches is allowed and recorded") {
  Fixture f;
  f.Publish(Rules(test::Attribute("purpose", PurposeIs("model-training"))));
  Decision d = f.engine.Check(test::ChatRequest());
  CHECK(d.effect == Effect::kAllow);
  CHECK(d.status == 200);
  CHECK(d.operation == "chat");
  CHECK(d.policy_revision == "rev1");
  REQUIRE(f.sink.records.size() == 1);
  CHECK(f.sink.records[0].id == d.decision_id);
  CHECK(engine::EffectWord(f.sink.records[0]) == "allow");
  CHECK(f.engine.counters().allow == 1);
}

TEST_CASE("deny beats throttle, and the decision names the deciding rule with its values") {
  Fixture f;
  f.Publish(Rules(test::PerAccountLimit("rate", 1, 60),
                  test::Attribute("purpose", PurposeIs("model-training"))));
  Request r = test::ChatRequest();
  CHECK(f.engine.Check(r).effect == Effect::kAllow);
  CHECK(f.engine.Check(r).effect == Effect::kThrottle);
  r.purpose = "model-training";
  Decision d = f.engine.Check(r);
  CHECK(d.effect == Effect::kDeny);
  CHECK(d.status == 403);
  CHECK(d.rule_ids == std::vector<std::string>{"purpose"});
  CHECK(d.reason == "purpose-reason");
  REQUIRE(d.matches.size() == 1);  // a denied request does not touch the rate counter
  CHECK(d.matches[0].detail == "request.purpose = \"model-training\" (eq \"model-training\")");
  CHECK(d.Explain().find("because request.purpose") != std::string::npos);
}

TEST_CASE("a throttle carries Retry-After and the RateLimit fields") {
  Fixture f;
  f.Publish(Rules(test::PerAccountLimit("rpm", 2, 60)));
  Request r = test::ChatRequest();
  Decision first = f.engine.Check(r);
  CHECK(first.effect == Effect::kAllow);
  REQUIRE(first.rate_limits.size() == 1);
  CHECK(first.rate_limits[0].remaining == 1);
  (void)f.engine.Check(r);
  f.clock.advance_ns(10 * kSec);
  Decision d = f.engine.Check(r);
  CHECK(d.effect == Effect::kThrottle);
  CHECK(d.status == 429);
  CHECK(d.retry_after_s == 80);  // 50s to the window's end, then 30s of decay
  auto header = [&](const std::string& name) {
    for (auto& [k, v] : d.headers)
      if (k == name) return v;
    return std::string();
  };
  CHECK(header("Retry-After") == "80");
  CHECK(header("RateLimit-Policy") == "\"rpm\";q=2;w=60");
  CHECK(header("RateLimit") == "\"rpm\";r=0;t=80");
  // Its problem+json: tests/api/decision_problem_test.cc.
}

TEST_CASE("shadow rules are recorded, never enforced") {
  Fixture f;
  f.Publish(Rules(test::Attribute("purpose", PurposeIs("model-training"), Action::kDeny,
                                  RuleMode::kShadow)));
  Request r = test::ChatRequest();
  r.purpose = "model-training";
  Decision d = f.engine.Check(r);
  CHECK(d.effect == Effect::kAllow);
  CHECK_FALSE(d.enforced);
  REQUIRE(d.matches.size() == 1);
  CHECK(d.matches[0].shadow);
  REQUIRE(f.sink.records[0].matches.size() == 1);
  CHECK(f.sink.records[0].matches[0].shadow);
  CHECK(f.engine.counters().shadow_matches == 1);
}

TEST_CASE("failure_mode decides what an internal error becomes, and fail-opens are counted") {
  FakeClock clock;
  FailingStore broken;
  engine::Engine e({&clock, &broken, nullptr, nullptr});
  auto publish = [&](bool fail_open) {
    auto snap = std::make_shared<engine::PolicySnapshot>();
    snap->settings.fail_open = fail_open;
    snap->operations = {{"chat", {"POST"}, {"/v1/chat/completions"}}};
    snap->rules.push_back(test::PerAccountLimit("rpm", 5, 60));
    e.Publish(std::move(snap));
  };
  publish(false);
  Decision closed = e.Check(test::ChatRequest());
  CHECK(closed.effect == Effect::kDeny);
  CHECK(closed.status == 503);
  CHECK(closed.reason == "internal-error");
  CHECK(e.counters().fail_open == 0);

  publish(true);
  Decision open = e.Check(test::ChatRequest());
  CHECK(open.effect == Effect::kAllow);
  CHECK(open.fail_open);
  CHECK(e.counters().fail_open == 1);
  CHECK(e.counters().internal_errors == 2);
}

TEST_CASE("no policy loaded is an internal error, not an allow") {
  FakeClock clock;
  auto state = engine::NewMemoryStateStore();
  engine::Engine e({&clock, state.get(), nullptr, nullptr});
  CHECK(e.Check(test::ChatRequest()).status == 503);
}

TEST_CASE("an audit store that refuses a record blocks an allow when failing closed") {
  Fixture f;
  f.Publish(Rules(test::Attribute("purpose", PurposeIs("x"))));
  f.sink.fail = true;
  Decision d = f.engine.Check(test::ChatRequest());
  CHECK(d.status == 503);
  CHECK(d.reason == "audit-unavailable");
  CHECK(f.engine.counters().audit_failures == 1);
}

TEST_CASE("accounts resolve by key, by trusted header, or as unknown keys") {
  Fixture f;
  Account a;
  a.id = "acct_1";
  a.tier = "pro";
  a.suspended = true;
  a.key_ids = {engine::KeyId("sk-live-1")};
  f.accounts.Upsert(a);
  f.Publish(Rules(test::Attribute("suspended", Leaf("account.suspended", Condition::Op::kEq, test::Bool(true)))));

  Request r = test::ChatRequest();
  r.account.reset();
  r.key_id = engine::KeyId("sk-live-1");
  Decision d = f.engine.Check(r);
  CHECK(d.account_id == "acct_1");
  CHECK(d.effect == Effect::kDeny);

  r.key_id = engine::KeyId("sk-unknown");
  d = f.engine.Check(r);
  CHECK(d.effect == Effect::kAllow);
  CHECK(d.account_id == "key:" + r.key_id.substr(0, 16));

  auto snap = std::make_shared<engine::PolicySnapshot>();
  snap->identity.unknown_deny = true;
  f.engine.Publish(snap);
  d = f.engine.Check(r);
  CHECK(d.status == 401);
  CHECK(d.reason == "unknown-key");
}

TEST_CASE("counters survive a reload that keeps the rule's id and limit") {
  Fixture f;
  f.Publish(Rules(test::PerAccountLimit("rpm", 1, 60)));
  CHECK(f.engine.Check(test::ChatRequest()).effect == Effect::kAllow);
  f.Publish(Rules(test::PerAccountLimit("rpm", 1, 60)));
  CHECK(f.engine.Check(test::ChatRequest()).effect == Effect::kThrottle);
  f.Publish(Rules(test::PerAccountLimit("rpm", 2, 60)));  // a new limit starts afresh
  CHECK(f.engine.Check(test::ChatRequest()).effect == Effect::kAllow);
}

TEST_CASE("publishing while checking from other threads is safe and each check sees a whole snapshot") {
  FakeClock clock;
  auto state = engine::NewMemoryStateStore();
  engine::Engine e({&clock, state.get(), nullptr, nullptr});
  auto make = [](const std::string& rev) {
    auto s = std::make_shared<engine::PolicySnapshot>();
    s->revision = rev;
    s->operations = {{"chat", {"POST"}, {"/v1/chat/completions"}}};
    return s;
  };
  e.Publish(make("r0"));
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> checkers;
  for (int t = 0; t < 2; ++t)
    checkers.emplace_back([&] {
      while (!stop) {
        Decision d = e.Check(test::ChatRequest());
        if (d.policy_revision.empty() || d.status != 200) ++bad;
      }
    });
  for (int i = 1; i <= 2000; ++i) e.Publish(make("r" + std::to_string(i)));
  stop = true;
  for (auto& t : checkers) t.join();
  CHECK(bad == 0);
  CHECK(e.snapshot()->revision == "r2000");
}

TEST_CASE("trusted headers name the account only when the peer is a trusted proxy") {
  Fixture f;
  Account known;
  known.id = "acct_key_owner";
  known.tier = "free";
  known.key_ids = {engine::KeyId("sk-live-2")};
  f.accounts.Upsert(known);
  Account victim;
  victim.id = "acct_victim";
  victim.tier = "enterprise";
  f.accounts.Upsert(victim);
  auto snap = std::make_shared<engine::PolicySnapshot>();
  snap->revision = "rev-th";
  snap->operations = {{"chat", {"POST"}, {"/v1/chat/completions"}}};
  snap->identity.account_header = "x-tos-account";
  snap->identity.tier_header = "x-tos-tier";
  f.engine.Publish(snap);

  Request r = test::ChatRequest();
  r.account.reset();
  r.headers = {{"x-tos-account", "acct_victim"}, {"x-tos-tier", "enterprise"}};
  r.peer_trusted = false;
  r.key_id = engine::KeyId("sk-live-2");
  CHECK(f.engine.Check(r).account_id == "acct_key_owner");  // the key's account
  r.key_id = engine::KeyId("sk-nobody");
  CHECK(f.engine.Check(r).account_id == "key:" + r.key_id.substr(0, 16));
  r.key_id.clear();
  CHECK(f.engine.Check(r).account_id == "ip:203.0.113.7");

  r.peer_trusted = true;  // a trusted proxy authenticated the caller
  CHECK(f.engine.Check(r).account_id == "acct_victim");
}

TEST_CASE("decision ids are a time prefix and 96 random bits") {
  Fixture f;
  f.Publish({});
  std::set<std::string> seen;
  std::string prev;
  int close_pairs = 0;
  char time_hex[16];
  std::snprintf(time_hex, sizeof time_hex, "%012llx",
                static_cast<unsigned long long>(f.clock.wall_ms()));
  for (int i = 0; i < 5000; ++i) {
    const std::string id = f.engine.Check(test::ChatRequest()).decision_id;
    REQUIRE(id.size() == engine::kDecisionIdLength);
    REQUIRE(id.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(id.substr(0, 12) == time_hex);
    seen.insert(id);
    // A counter's successive ids differ in a few bits; random ones in ~48.
    if (!prev.empty()) {
      int differing = 0;
      for (size_t k = 12; k < id.size(); ++k) {
        const int a = std::stoi(id.substr(k, 1), nullptr, 16);
        const int b = std::stoi(prev.substr(k, 1), nullptr, 16);
        differing += __builtin_popcount(static_cast<unsigned>(a ^ b));
      }
      if (differing < 16) ++close_pairs;
    }
    prev = id;
  }
  CHECK(seen.size() == 5000);
  CHECK(close_pairs == 0);  // P(< 16 of 96 random bits differ) is below 1e-10 a pair
}

TEST_CASE("a decision id starts with the low 48 bits of the wall clock in ms, big-endian hex") {
  CHECK(engine::NewDecisionId(0x0123456789abcdefLL).substr(0, 12) == "456789abcdef");
  CHECK(engine::NewDecisionId(0).substr(0, 12) == "000000000000");
  CHECK(engine::NewDecisionId(-1).substr(0, 12) == "ffffffffffff");
  CHECK(engine::NewDecisionId(1'700'000'000'000).substr(0, 12) == "018bcfe56800");
  const std::string id = engine::NewDecisionId(5);
  CHECK(id.size() == engine::kDecisionIdLength);
  CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
}

TEST_CASE("decision ids stay unique across threads") {
  std::vector<std::string> ids[2];
  std::vector<std::thread> threads;
  for (auto& out : ids)
    threads.emplace_back([&out] {
      for (int i = 0; i < 20'000; ++i) out.push_back(engine::NewDecisionId(1'700'000'000'000));
    });
  for (auto& t : threads) t.join();
  std::set<std::string> all(ids[0].begin(), ids[0].end());
  all.insert(ids[1].begin(), ids[1].end());
  CHECK(all.size() == 40'000);
}
