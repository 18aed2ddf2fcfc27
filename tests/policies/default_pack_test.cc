// The shipped default pack, loaded from disk and run through the engine:
// each rule decides the requests it was written for, and nothing else.
#include <doctest/doctest.h>

#include "engine/engine.h"
#include "engine/state_store.h"
#include "test_support.h"

using namespace tosgate;

namespace {

struct PackEngine {
  FakeClock clock{1'700'000'000'000};
  std::unique_ptr<engine::StateStore> state = engine::NewMemoryStateStore();
  engine::MemoryAccountDirectory accounts;
  engine::Engine engine{{&clock, state.get(), nullptr, &accounts}};

  PackEngine() {
    policies::LoadResult r = policies::LoadPolicyDir(TOSGATE_SOURCE_DIR "/policies/packs/default");
    INFO(test::AllErrors(r));
    REQUIRE(r.snapshot);
    engine.Publish(r.snapshot);
  }
};

Request Chat(const std::string& account, const std::string& tier, bool suspended = false) {
  Request r;
  r.method = "POST";
  r.path = "/v1/chat/completions";
  r.client_ip = "203.0.113.7";
  Account a;
  a.id = account;
  a.tier = tier;
  a.suspended = suspended;
  r.account = a;
  r.body.present = true;
  r.body.model = "m";
  return r;
}

}  // namespace

TEST_CASE("default pack: a suspended account is denied with 403 account-suspended") {
  PackEngine p;
  Decision d = p.engine.Check(Chat("a1", "pro", /*suspended=*/true));
  CHECK(d.effect == Effect::kDeny);
  CHECK(d.status == 403);
  CHECK(d.reason == "account-suspended");
  CHECK(d.rule_ids == std::vector<std::string>{"account.suspended"});
  CHECK(p.engine.Check(Chat("a2", "pro")).effect == Effect::kAllow);
}

TEST_CASE("default pack: a declared training purpose is denied") {
  PackEngine p;
  for (const char* purpose : {"model-training", "distillation", "model-distillation"}) {
    CAPTURE(purpose);
    Request r = Chat("a1", "pro");
    r.purpose = purpose;
    Decision d = p.engine.Check(r);
    CHECK(d.effect == Effect::kDeny);
    CHECK(d.reason == "competitor-training-declared");
  }
  Request ok = Chat("a1", "pro");
  ok.purpose = "customer-support";
  CHECK(p.engine.Check(ok).effect == Effect::kAllow);
}

TEST_CASE("default pack: logit_bias with logprobs is denied on chat, not on embeddings") {
  PackEngine p;
  Request r = Chat("a1", "pro");
  r.body.logprobs = true;
  CHECK(p.engine.Check(r).effect == Effect::kAllow);  // logprobs alone is fine
  r.body.logit_bias_count = 1;
  Decision d = p.engine.Check(r);
  CHECK(d.effect == Effect::kDeny);
  CHECK(d.reason == "extraction-logit-bias");
  r.path = "/v1/embeddings";  // outside the rule's match.operations
  CHECK(p.engine.Check(r).effect == Effect::kAllow);
}

TEST_CASE("default pack: the free tier's 21st request in a minute is throttled") {
  PackEngine p;
  Request r = Chat("a1", "free");
  for (int i = 0; i < 20; ++i) {
    CAPTURE(i);
    REQUIRE(p.engine.Check(r).effect == Effect::kAllow);
  }
  Decision d = p.engine.Check(r);
  CHECK(d.effect == Effect::kThrottle);
  CHECK(d.status == 429);
  CHECK(d.reason == "rate-limited");
  CHECK(d.rule_ids == std::vector<std::string>{"rate.rpm"});
  // Another account has its own count.
  CHECK(p.engine.Check(Chat("a2", "free")).effect == Effect::kAllow);
}
