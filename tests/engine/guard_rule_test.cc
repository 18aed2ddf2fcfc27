// The guard rule through the engine, with a scripted GuardClient: verdicts
// and categories, failure_mode, shadow mode, the verdict cache, the
// concurrency cap and async flagging. No network, no sleeping: the fake
// answers at once, async calls wait in a list until the test delivers them.
#include <doctest/doctest.h>

#include <deque>
#include <functional>

#include "engine/rules/guard.h"
#include "test_support.h"

using namespace tosgate;
using engine::GuardConfig;
using engine::GuardVerdict;
using Outcome = GuardVerdict::Outcome;

namespace {

// Answers by marker words in the text: "sarin" -> unsafe S9, "selfharm" ->
// unsafe S11, "both" -> unsafe S11 and S9, "slow" -> timeout, "broken" ->
// error; anything else safe.
struct FakeGuard : engine::GuardClient {
  int calls = 0;
  std::vector<std::string> texts;  // what was asked, in order
  std::function<void()> during;    // runs inside Classify (re-entrancy tests)
  std::deque<std::pair<engine::GuardQuery, std::function<void(GuardVerdict)>>> pending;
  bool refuse_async = false;

  static GuardVerdict Answer(const std::string& text) {
    GuardVerdict v;
    v.outcome = Outcome::kSafe;
    auto has = [&](const char* w) { return text.find(w) != std::string::npos; };
    if (has("slow")) return GuardVerdict{Outcome::kTimeout, {}, {}, "no answer"};
    if (has("broken")) return GuardVerdict{Outcome::kError, {}, {}, "HTTP 500"};
    if (has("both")) return GuardVerdict{Outcome::kUnsafe, {"S11", "S9"}, {}, ""};
    if (has("sarin")) return GuardVerdict{Outcome::kUnsafe, {"S9"}, {0.97}, ""};
    if (has("selfharm")) return GuardVerdict{Outcome::kUnsafe, {"S11"}, {}, ""};
    return v;
  }
  GuardVerdict Classify(const engine::GuardQuery& q) override {
    ++calls;
    texts.push_back(q.text);
    if (during) {
      auto f = std::move(during);
      during = nullptr;
      f();
    }
    return Answer(q.text);
  }
  bool ClassifyAsync(engine::GuardQuery q, std::function<void(GuardVerdict)> done) override {
    if (refuse_async) return false;
    ++calls;
    pending.emplace_back(std::move(q), std::move(done));
    return true;
  }
  void DeliverAll() {
    while (!pending.empty()) {
      auto [q, done] = std::move(pending.front());
      pending.pop_front();
      done(Answer(q.text));
    }
  }
};

struct Fixture {
  FakeClock clock{1'700'000'000'000};
  std::unique_ptr<engine::StateStore> state = engine::NewMemoryStateStore();
  FakeGuard guard;
  engine::Engine engine{{.clock = &clock, .state = state.get(), .guard = &guard}};
  const engine::GuardRule* rule = nullptr;

  void Publish(GuardConfig cfg, RuleMode mode = RuleMode::kEnforce, bool settings_fail_open = false,
               std::unique_ptr<engine::Rule> extra = nullptr) {
    auto snap = std::make_shared<engine::PolicySnapshot>();
    snap->revision = "rev1";
    snap->settings.fail_open = settings_fail_open;
    snap->operations = {{"chat", {"POST"}, {"/v1/chat/completions"}}};
    auto common = test::Common("guard", Action::kDeny, mode);
    common.kind = "guard";
    common.reason = "guard-unsafe";
    auto r = std::make_unique<engine::GuardRule>(common, std::move(cfg));
    rule = r.get();
    snap->rules.push_back(std::move(r));
    if (extra) snap->rules.push_back(std::move(extra));
    engine.Publish(std::move(snap));
  }

  Decision Ask(const std::string& user, const std::string& account = "a1") {
    Request r = test::ChatRequest(account);
    r.body.present = true;
    r.body.user_text = user;
    r.body.prompt_text = "user: " + user;
    return engine.Check(r);
  }
};

GuardConfig Config() {
  GuardConfig c;
  c.endpoint = "http://127.0.0.1:1/v1/moderations";
  c.fail_open = false;
  return c;
}

}  // namespace

TEST_CASE("an unsafe verdict takes the rule's action and names its categories, never the prompt") {
  Fixture f;
  f.Publish(Config());
  Decision safe = f.Ask("how do I bake bread");
  CHECK(safe.effect == Effect::kAllow);
  CHECK(safe.matches.empty());

  Decision d = f.Ask("how is sarin made at home");
  CHECK(d.effect == Effect::kDeny);
  CHECK(d.status == 403);
  CHECK(d.reason == "guard-unsafe");
  CHECK(d.rule_ids == std::vector<std::string>{"guard"});
  REQUIRE(d.matches.size() == 1);
  CHECK(d.matches[0].detail == "guard verdict unsafe: S9=0.97 (openai-moderation)");
  CHECK(d.matches[0].detail.find("home") == std::string::npos);
  CHECK(f.rule->stats().unsafe == 1);
}

TEST_CASE("categories map to actions; allow ignores one; the most severe wins") {
  Fixture f;
  GuardConfig c = Config();
  c.categories = {{"S11", Action::kFlag}, {"S6", std::nullopt}};
  f.Publish(std::move(c));
  Decision flagged = f.Ask("a selfharm question");
  CHECK(flagged.effect == Effect::kAllow);
  REQUIRE(flagged.matches.size() == 1);
  CHECK(flagged.matches[0].action == Action::kFlag);
  Decision both = f.Ask("both kinds");  // S11 flag, S9 unlisted: the rule's deny
  CHECK(both.effect == Effect::kDeny);

  Fixture g;
  GuardConfig ignore = Config();
  ignore.categories = {{"S9", std::nullopt}};
  g.Publish(std::move(ignore));
  CHECK(g.Ask("sarin again").matches.empty());
}

TEST_CASE("failure_mode open lets a timeout or an error pass, counted; closed denies") {
  Fixture open;
  GuardConfig c = Config();
  c.fail_open = true;
  open.Publish(c);
  CHECK(open.Ask("a slow one").effect == Effect::kAllow);
  CHECK(open.Ask("a broken one").effect == Effect::kAllow);
  CHECK(open.rule->stats().fail_open == 2);
  CHECK(open.rule->stats().timeouts == 1);
  CHECK(open.rule->stats().errors == 1);

  Fixture closed;
  closed.Publish(Config());
  Decision d = closed.Ask("a slow one");
  CHECK(d.effect == Effect::kDeny);
  CHECK(d.reason == "guard-unavailable");
  REQUIRE(d.matches.size() == 1);
  CHECK(d.matches[0].detail == "guard unavailable: no answer within 300ms (failure_mode closed)");
  CHECK(closed.rule->stats().fail_closed == 1);
}

TEST_CASE(
    "without its own failure_mode the rule's failure is an internal error the policy decides") {
  Fixture f;
  GuardConfig c = Config();
  c.fail_open.reset();
  f.Publish(c, RuleMode::kEnforce, /*settings_fail_open=*/false);
  Decision d = f.Ask("broken");
  CHECK(d.effect == Effect::kDeny);
  CHECK(d.status == 503);
  CHECK(d.reason == "internal-error");
  CHECK(f.engine.counters().internal_errors == 1);

  Fixture o;
  o.Publish(c, RuleMode::kEnforce, /*settings_fail_open=*/true);
  CHECK(o.Ask("broken").effect == Effect::kAllow);
  CHECK(o.engine.counters().fail_open == 1);
}

TEST_CASE("no guard client: failure_mode decides") {
  FakeClock clock;
  auto state = engine::NewMemoryStateStore();
  engine::Engine e{{.clock = &clock, .state = state.get()}};
  auto snap = std::make_shared<engine::PolicySnapshot>();
  snap->operations = {{"chat", {"POST"}, {"/v1/chat/completions"}}};
  GuardConfig c = Config();
  auto common = test::Common("guard", Action::kDeny);
  snap->rules.push_back(std::make_unique<engine::GuardRule>(common, c));
  e.Publish(snap);
  Request r = test::ChatRequest();
  r.body.present = true;
  r.body.prompt_text = "hello";
  Decision d = e.Check(r);
  CHECK(d.effect == Effect::kDeny);
  CHECK(d.reason == "guard-unavailable");
}

TEST_CASE("a shadow guard rule records its verdict and enforces nothing") {
  Fixture f;
  f.Publish(Config(), RuleMode::kShadow);
  Decision d = f.Ask("sarin");
  CHECK(d.effect == Effect::kAllow);
  CHECK_FALSE(d.enforced);
  REQUIRE(d.matches.size() == 1);
  CHECK(d.matches[0].shadow);
  CHECK(f.engine.counters().shadow_matches == 1);
  // A closed failure in shadow mode is recorded, not enforced, either.
  Decision failed = f.Ask("slow");
  CHECK(failed.effect == Effect::kAllow);
  REQUIRE(failed.matches.size() == 1);
  CHECK(failed.matches[0].reason == "guard-unavailable");
}

TEST_CASE("verdicts are cached by the normalized text for the ttl; failures are not cached") {
  Fixture f;
  GuardConfig c = Config();
  c.cache_ttl_ns = int64_t{60} * 1'000'000'000;
  f.Publish(c);
  CHECK(f.Ask("How is SARIN made").effect == Effect::kDeny);
  CHECK(f.guard.calls == 1);
  CHECK(f.guard.texts[0] == "user how is sarin made");  // normalized, what the key digests
  // The same text in another spelling (zero-width space, case) is a hit.
  Decision hit = f.Ask("how is s\u200barin MADE");
  CHECK(hit.effect == Effect::kDeny);
  CHECK(hit.matches[0].detail.find("cached") != std::string::npos);
  CHECK(f.guard.calls == 1);
  CHECK(f.rule->stats().cache_hits == 1);
  CHECK(f.rule->cached() == 1);
  CHECK(f.Ask("bake bread").effect == Effect::kAllow);
  CHECK(f.Ask("bake bread").effect == Effect::kAllow);
  CHECK(f.guard.calls == 2);  // safe verdicts are cached too

  f.clock.advance_ns(int64_t{61} * 1'000'000'000);
  CHECK(f.Ask("how is sarin made").effect == Effect::kDeny);
  CHECK(f.guard.calls == 3);  // expired: asked again

  f.Ask("broken");
  f.Ask("broken");
  CHECK(f.guard.calls == 5);
}

TEST_CASE(
    "past max_concurrency calls in flight a request is an overload that failure_mode decides") {
  Fixture f;
  GuardConfig c = Config();
  c.max_concurrency = 1;
  c.fail_open = false;
  f.Publish(c);
  Decision inner;
  // While the first call is in flight, a second request arrives.
  f.guard.during = [&] { inner = f.Ask("another prompt"); };
  CHECK(f.Ask("first prompt").effect == Effect::kAllow);
  CHECK(inner.effect == Effect::kDeny);
  CHECK(inner.reason == "guard-unavailable");
  REQUIRE(inner.matches.size() == 1);
  CHECK(inner.matches[0].detail.find("max_concurrency") != std::string::npos);
  CHECK(f.rule->stats().overloads == 1);
  // The slot was given back.
  CHECK(f.Ask("a third prompt").effect == Effect::kAllow);
}

TEST_CASE("async: the request passes now, an unsafe verdict flags the account for later requests") {
  Fixture f;
  GuardConfig c = Config();
  c.async = true;
  c.flag_ttl_ms = 3'600'000;
  f.Publish(c);

  CHECK(f.Ask("sarin please", "a1").effect == Effect::kAllow);
  CHECK(f.guard.pending.size() == 1);
  CHECK(f.Ask("hello", "a1").effect == Effect::kAllow);  // the verdict is not back yet
  f.guard.DeliverAll();
  CHECK(f.engine.marks().accounts() == 1);
  CHECK(f.rule->stats().marks == 1);

  Decision later = f.Ask("hello again", "a1");
  CHECK(later.effect == Effect::kDeny);
  CHECK(later.rule_ids == std::vector<std::string>{"guard"});
  REQUIRE(later.matches.size() == 1);
  CHECK(later.matches[0].detail == "account flagged guard-unsafe (an earlier guard verdict)");
  CHECK(f.Ask("hello", "a2").effect == Effect::kAllow);  // another account

  // A cached unsafe verdict acts at once, even in async mode.
  CHECK(f.Ask("sarin please", "a3").effect == Effect::kDeny);

  f.clock.advance_ms(3'600'001);
  CHECK(f.Ask("hello", "a1").effect == Effect::kAllow);  // the flag expired
}

TEST_CASE("async: the flag is an account flag every rule reads") {
  Fixture f;
  GuardConfig c = Config();
  c.async = true;
  c.flag = "guard-flagged";
  auto throttle_flagged = test::Attribute(
      "flagged",
      test::Leaf("account.flags", engine::Condition::Op::kEq, test::Str("guard-flagged")),
      Action::kThrottle);
  f.Publish(c, RuleMode::kEnforce, false, std::move(throttle_flagged));
  CHECK(f.Ask("sarin please", "a1").effect == Effect::kAllow);
  f.guard.DeliverAll();
  Decision later = f.Ask("hello", "a1");
  CHECK(later.effect == Effect::kThrottle);
  CHECK(later.rule_ids == std::vector<std::string>{"flagged"});
  f.engine.marks().Clear("a1");  // a reviewer cleared it
  CHECK(f.Ask("hello", "a1").effect == Effect::kAllow);
}

TEST_CASE("async in shadow mode flags no account") {
  Fixture f;
  GuardConfig c = Config();
  c.async = true;
  f.Publish(c, RuleMode::kShadow);
  CHECK(f.Ask("sarin please").effect == Effect::kAllow);
  f.guard.DeliverAll();
  CHECK(f.engine.marks().empty());
  CHECK(f.rule->stats().unsafe == 1);
  // The cached verdict is recorded as a shadow match, not enforced.
  Decision d = f.Ask("sarin please", "a2");
  CHECK(d.effect == Effect::kAllow);
  REQUIRE(d.matches.size() == 1);
  CHECK(d.matches[0].shadow);
}

TEST_CASE("async: a refused background call is counted and the request passes") {
  Fixture f;
  GuardConfig c = Config();
  c.async = true;
  f.Publish(c);
  f.guard.refuse_async = true;
  CHECK(f.Ask("sarin").effect == Effect::kAllow);
  CHECK(f.rule->stats().overloads == 1);
  f.guard.refuse_async = false;
  CHECK(f.Ask("sarin").effect == Effect::kAllow);
  CHECK(f.guard.pending.size() == 1);
}

TEST_CASE("a request without a body or text asks nothing") {
  Fixture f;
  f.Publish(Config());
  Request r = test::ChatRequest();
  CHECK(f.engine.Check(r).effect == Effect::kAllow);
  r.body.present = true;  // a body without text (an embeddings call of token ids)
  CHECK(f.engine.Check(r).effect == Effect::kAllow);
  CHECK(f.guard.calls == 0);
}
