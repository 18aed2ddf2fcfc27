// settings.unmatched_operation through the engine: a request that no
// operation classifies would pass every operation-scoped rule unseen, so by
// default a POST, PUT or PATCH of that kind is refused, explained and
// audited; shadow mode records it only.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tests/engine/test_support.h"
#include "tosgate/clock.h"

using namespace tosgate;
using engine::Condition;
using test::Leaf;

namespace {

struct RecordingSink : engine::AuditSink {
  std::vector<engine::AuditRecord> records;
  Status Submit(engine::AuditRecord r) override {
    records.push_back(std::move(r));
    return Status::Ok();
  }
};

struct Fixture {
  FakeClock clock{1'700'000'000'000};
  std::unique_ptr<engine::StateStore> state = engine::NewMemoryStateStore();
  RecordingSink sink;
  engine::Engine engine{{&clock, state.get(), &sink, nullptr}};

  // A set with one operation (chat) and the rules given; `edit` adjusts its
  // settings.
  template <typename Edit>
  void Publish(std::vector<std::unique_ptr<engine::Rule>> rules, Edit edit) {
    auto snap = std::make_shared<engine::PolicySnapshot>();
    snap->revision = "rev1";
    snap->operations = {{"chat", {"POST"}, {"/v1/chat/completions"}}};
    for (auto& r : rules) snap->rules.push_back(std::move(r));
    edit(*snap);
    engine.Publish(std::move(snap));
  }
  void Publish(std::vector<std::unique_ptr<engine::Rule>> rules = {}) {
    Publish(std::move(rules), [](engine::PolicySnapshot&) {});
  }
};

Request To(std::string method, std::string path) {
  Request r = test::ChatRequest();
  r.method = std::move(method);
  r.path = std::move(path);
  return r;
}

std::vector<std::unique_ptr<engine::Rule>> Suspended() {
  std::vector<std::unique_ptr<engine::Rule>> v;
  v.push_back(test::Attribute("account.suspended",
                              Leaf("account.suspended", Condition::Op::kEq, test::Bool(true))));
  return v;
}

}  // namespace

TEST_CASE("unmatched: a POST no operation covers is refused with 403, explained and audited") {
  Fixture f;
  f.Publish();
  const Decision d = f.engine.Check(To("POST", "/v1/batches"));
  CHECK(d.effect == Effect::kDeny);
  CHECK(d.status == 403);
  CHECK(d.reason == "unclassified-operation");
  CHECK(d.rule_ids == std::vector<std::string>{"settings.unmatched_operation"});
  CHECK(d.operation.empty());
  REQUIRE(d.matches.size() == 1);
  CHECK_FALSE(d.matches[0].shadow);
  CHECK(d.matches[0].detail.find("POST") != std::string::npos);
  // Its problem+json: tests/api/decision_problem_test.cc.
  REQUIRE(f.sink.records.size() == 1);
  CHECK(f.sink.records[0].reason == "unclassified-operation");
  CHECK(engine::EffectWord(f.sink.records[0]) == "deny");
  CHECK(f.sink.records[0].rule_ids == std::vector<std::string>{"settings.unmatched_operation"});
  CHECK(f.engine.counters().deny == 1);
}

TEST_CASE("unmatched: classified requests and GET, HEAD, DELETE pass by default") {
  Fixture f;
  f.Publish();
  CHECK(f.engine.Check(To("POST", "/v1/chat/completions")).effect == Effect::kAllow);
  for (const char* method : {"GET", "HEAD", "DELETE", "OPTIONS"}) {
    INFO(method);
    CHECK(f.engine.Check(To(method, "/v1/batches")).effect == Effect::kAllow);
  }
  for (const char* method : {"PUT", "PATCH"}) {
    INFO(method);
    CHECK(f.engine.Check(To(method, "/v1/chat/completions")).reason == "unclassified-operation");
  }
}

TEST_CASE("unmatched: an operation the front end already named is not refused") {
  Fixture f;
  f.Publish();
  Request r = To("POST", "/somewhere/else");
  r.operation = "chat";
  CHECK(f.engine.Check(r).effect == Effect::kAllow);
}

TEST_CASE("unmatched: shadow mode records the refusal and enforces nothing") {
  Fixture f;
  f.Publish({}, [](engine::PolicySnapshot& s) { s.settings.mode = RuleMode::kShadow; });
  const Decision d = f.engine.Check(To("POST", "/v1/files"));
  CHECK(d.effect == Effect::kAllow);
  CHECK(d.status == 200);
  CHECK_FALSE(d.enforced);
  REQUIRE(d.matches.size() == 1);
  CHECK(d.matches[0].rule_id == "settings.unmatched_operation");
  CHECK(d.matches[0].shadow);
  CHECK(f.engine.counters().shadow_matches == 1);
  REQUIRE(f.sink.records.size() == 1);
  REQUIRE(f.sink.records[0].matches.size() == 1);
  CHECK(f.sink.records[0].matches[0].shadow);
}

TEST_CASE("unmatched: action allow, methods and paths narrow what is refused") {
  Fixture f;
  f.Publish({}, [](engine::PolicySnapshot& s) { s.settings.unmatched_operation.deny = false; });
  CHECK(f.engine.Check(To("POST", "/v1/batches")).effect == Effect::kAllow);

  f.Publish({}, [](engine::PolicySnapshot& s) {
    s.settings.unmatched_operation.methods = {"POST", "DELETE"};
    s.settings.unmatched_operation.paths = {"/v1/*", "/v1beta/models/*:generateContent"};
  });
  CHECK(f.engine.Check(To("DELETE", "/v1/files/f1")).effect == Effect::kDeny);
  CHECK(f.engine.Check(To("PUT", "/v1/files/f1")).effect == Effect::kAllow);
  CHECK(f.engine.Check(To("POST", "/internal/health")).effect == Effect::kAllow);
  CHECK(f.engine.Check(To("POST", "/v1beta/models/gemini:generateContent")).effect ==
        Effect::kDeny);
  CHECK(f.engine.Check(To("POST", "/v1beta/models/gemini:countTokens")).effect == Effect::kAllow);
}

TEST_CASE("unmatched: deny rules still run and are named; limits do not count the request") {
  Fixture f;
  std::vector<std::unique_ptr<engine::Rule>> rules = Suspended();
  rules.push_back(test::PerAccountLimit("rate.rpm", 1, 60));
  f.Publish(std::move(rules));

  Request r = To("POST", "/v1/frobnicate");
  r.account->suspended = true;
  Decision d = f.engine.Check(r);
  CHECK(d.reason == "unclassified-operation");  // the first refusal names the reason
  CHECK(d.rule_ids == std::vector<std::string>{"settings.unmatched_operation", "account.suspended"});

  // Refused before the limits: the one request a minute is still there.
  r.account->suspended = false;
  CHECK(f.engine.Check(r).effect == Effect::kDeny);
  CHECK(f.engine.Check(To("POST", "/v1/chat/completions")).effect == Effect::kAllow);
  CHECK(f.engine.Check(To("POST", "/v1/chat/completions")).effect == Effect::kThrottle);
}

TEST_CASE("unmatched: a snapshot with no settings refuses unmatched POSTs (the default)") {
  engine::PolicySnapshot s;
  CHECK(s.settings.unmatched_operation.deny);
  CHECK(s.RefusesUnmatched("POST", "/anything/at/all"));
  CHECK(s.RefusesUnmatched("PATCH", "/"));
  CHECK_FALSE(s.RefusesUnmatched("GET", "/v1/models"));
}

TEST_CASE("path patterns: exact, trailing prefix, and '*' within one segment") {
  using engine::PathMatches;
  CHECK(PathMatches("/v1/chat/completions", "/v1/chat/completions"));
  CHECK_FALSE(PathMatches("/v1/chat/completions", "/v1/chat/completions/"));
  CHECK_FALSE(PathMatches("/v1/chat/completions", "/v1/chat/completion"));
  // A trailing '*': any rest, '/' included.
  CHECK(PathMatches("/v1/batches/*", "/v1/batches/b1/cancel"));
  CHECK(PathMatches("/v1/batches/*", "/v1/batches/"));
  CHECK_FALSE(PathMatches("/v1/batches/*", "/v1/batches"));
  CHECK(PathMatches("/v1/chat*", "/v1/chat/completions"));
  CHECK(PathMatches("/*", "/"));
  CHECK(PathMatches("/*", "/v1/anything/at/all"));
  CHECK_FALSE(PathMatches("/*", ""));
  // Inside: within one segment only.
  const char* gen = "/v1beta/models/*:generateContent";
  CHECK(PathMatches(gen, "/v1beta/models/gemini-2.0-flash:generateContent"));
  CHECK(PathMatches(gen, "/v1beta/models/:generateContent"));
  CHECK_FALSE(PathMatches(gen, "/v1beta/models/a/b:generateContent"));
  CHECK_FALSE(PathMatches(gen, "/v1beta/models/gemini:streamGenerateContent"));
  CHECK_FALSE(PathMatches(gen, "/v1beta/models/gemini:batchGenerateContent"));
  CHECK_FALSE(PathMatches(gen, "/v1beta/models/gemini:generateContent/x"));
  CHECK(PathMatches("/openai/deployments/*/chat/completions",
                    "/openai/deployments/gpt4o/chat/completions"));
  CHECK_FALSE(PathMatches("/openai/deployments/*/chat/completions",
                          "/openai/deployments/a/b/chat/completions"));
  CHECK(PathMatches("/v1/responses/*/cancel", "/v1/responses/resp_1/cancel"));
  CHECK_FALSE(PathMatches("/v1/responses/*/cancel", "/v1/responses/cancel"));
  // Several stars in one segment, and one inside with one at the end.
  CHECK(PathMatches("/a/*x*y", "/a/1x2x3y"));
  CHECK_FALSE(PathMatches("/a/*x*y", "/a/1x2x3"));
  CHECK(PathMatches("/v1beta/*/models*", "/v1beta/tuned/models/x"));
  CHECK_FALSE(PathMatches("/v1beta/*/models*", "/v1beta/a/b/models"));
}

TEST_CASE("path patterns: a long hostile path costs at most length times pattern") {
  // Every '*' restarts the greedy scan; the product bound keeps this quick.
  const std::string path = "/" + std::string(100'000, 'a');
  CHECK_FALSE(engine::PathMatches("/*a*a*a*a*a*a*a*a*b", path));
  CHECK(engine::PathMatches("/*a*a*a*a*a*a*a*a*", path));
}
