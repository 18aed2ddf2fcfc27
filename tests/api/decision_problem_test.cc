// The problem+json of decisions the engine makes: moved here from the engine
// tests when ProblemJson left engine/ (the engine does not know HTTP). The
// assertions are the ones those tests made.
#include <doctest/doctest.h>

#include <string>

#include "api/request/responses.h"
#include "tests/engine/test_support.h"
#include "tosgate/clock.h"

namespace tosgate::api {
namespace {

constexpr int64_t kSec = 1'000'000'000;

struct Fixture {
  FakeClock clock{1'700'000'000'000};
  std::unique_ptr<engine::StateStore> state = engine::NewMemoryStateStore();
  engine::Engine engine{{&clock, state.get(), nullptr, nullptr}};

  void Publish(std::unique_ptr<engine::Rule> rule) {
    auto snap = std::make_shared<engine::PolicySnapshot>();
    snap->revision = "rev1";
    snap->operations = {{"chat", {"POST"}, {"/v1/chat/completions"}}};
    if (rule) snap->rules.push_back(std::move(rule));
    engine.Publish(std::move(snap));
  }
};

// From tests/engine/engine_test.cc "a throttle carries Retry-After and the
// RateLimit fields" and tests/engine/limits_test.cc "429s carry ...".
TEST_CASE("a throttle's problem is quota-exceeded and names the violated policies") {
  Fixture f;
  f.Publish(test::PerAccountLimit("rpm", 2, 60));
  (void)f.engine.Check(test::ChatRequest());
  (void)f.engine.Check(test::ChatRequest());
  f.clock.advance_ns(10 * kSec);
  const Decision d = f.engine.Check(test::ChatRequest());
  REQUIRE(d.effect == Effect::kThrottle);
  const std::string body = ProblemJson(d);
  CHECK(body.find("\"type\":\"https://tosgate.dev/problems/quota-exceeded\"") != std::string::npos);
  CHECK(body.find("quota-exceeded") != std::string::npos);
  CHECK(body.find("\"violated_policies\":[\"rpm\"]") != std::string::npos);
  CHECK(body.find("\"title\":\"Too many requests\"") != std::string::npos);  // docs/forward-auth.md
}

// From tests/engine/unmatched_operation_test.cc "unmatched: a POST no
// operation covers is refused with 403, explained and audited".
TEST_CASE("an unclassified operation's problem names its reason") {
  Fixture f;
  f.Publish(nullptr);
  Request r = test::ChatRequest();
  r.path = "/v1/batches";
  const Decision d = f.engine.Check(r);
  REQUIRE(d.status == 403);
  CHECK(ProblemJson(d).find("problems/unclassified-operation") != std::string::npos);
  CHECK(ProblemJson(d).find("\"title\":\"Request denied by policy\"") != std::string::npos);
}

TEST_CASE("one set of titles: decisions and errors of the same status agree") {
  Decision d;
  d.effect = Effect::kDeny;
  d.status = 503;
  d.reason = "audit-unavailable";
  HttpResponse err;
  RenderError(503, "too-many-connections", "", &err);
  CHECK(DecisionTitle(d) == StatusTitle(503));
  CHECK(err.body.find("\"title\":\"Service Unavailable\"") != std::string::npos);
  d.status = 401;
  CHECK(DecisionTitle(d) == "Unauthorized");
  d.effect = Effect::kThrottle;
  d.status = 429;
  RenderError(429, "rate-limited", "", &err);
  CHECK(DecisionTitle(d) == "Too many requests");
  CHECK(err.body.find("\"title\":\"Too many requests\"") != std::string::npos);
}

}  // namespace
}  // namespace tosgate::api
