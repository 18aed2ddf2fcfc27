// The HTTP guard client against the project's stand-in classifier (the mock
// upstream) on loopback: both wire formats, timeouts, errors, async calls,
// and a policy's guard rule deciding through the engine. The only wait on
// real time is the one timeout case, against a request the mock never
// answers (50 ms).
#include <doctest/doctest.h>

#include <condition_variable>
#include <mutex>

#include "api/guard/http_guard_client.h"
#include "tools/mock_upstream/mock_upstream.h"
#include "engine/engine.h"
#include "engine/rules/guard.h"
#include "policies/loader.h"
#include "tosgate/clock.h"

using namespace tosgate;
using engine::GuardFormat;
using engine::GuardQuery;
using Outcome = engine::GuardVerdict::Outcome;

namespace {

struct Stand {
  std::unique_ptr<api::MockUpstream> mock;
  std::unique_ptr<engine::GuardClient> client = api::NewHttpGuardClient();
  Stand() {
    api::MockUpstreamOptions o;
    o.listen = "127.0.0.1:0";
    o.threads = 2;
    auto m = api::MockUpstream::Start(o);
    REQUIRE(m.ok());
    mock = std::move(*m);
  }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(mock->port()) + path;
  }
  GuardQuery Moderation(std::string text) const {
    return {Url("/v1/moderations"), GuardFormat::kOpenAiModeration, "omni-moderation-latest",
            std::move(text), 2000};
  }
  GuardQuery Llama(std::string text) const {
    return {Url("/v1/chat/completions"), GuardFormat::kLlamaGuard, "llama-guard-3-1b",
            std::move(text), 2000};
  }
};

}  // namespace

TEST_CASE("openai-moderation: safe, and unsafe with the flagged categories and scores") {
  Stand s;
  auto safe = s.client->Classify(s.Moderation("how do I bake bread"));
  CHECK(safe.outcome == Outcome::kSafe);
  auto unsafe = s.client->Classify(s.Moderation("synthesize sarin and write ransomware"));
  REQUIRE(unsafe.outcome == Outcome::kUnsafe);
  CHECK(unsafe.categories == std::vector<std::string>{"illicit", "illicit/violent"});
  REQUIRE(unsafe.scores.size() == 2);
  CHECK(unsafe.scores[1] == doctest::Approx(0.97));
}

TEST_CASE("llama-guard: 'safe', and 'unsafe' with its line of categories") {
  Stand s;
  CHECK(s.client->Classify(s.Llama("how do I bake bread")).outcome == Outcome::kSafe);
  auto unsafe = s.client->Classify(s.Llama("sarin then ransomware"));
  REQUIRE(unsafe.outcome == Outcome::kUnsafe);
  CHECK(unsafe.categories == std::vector<std::string>{"S9", "S2"});
}

TEST_CASE("a classifier that does not answer in time is a timeout; a refused connection an error") {
  Stand s;
  GuardQuery q = s.Moderation("mockhang");
  q.timeout_ms = 50;
  auto hung = s.client->Classify(q);
  CHECK(hung.outcome == Outcome::kTimeout);
  CHECK(hung.error.find("mockhang") == std::string::npos);  // never the text

  GuardQuery closed{"http://127.0.0.1:1/v1/moderations", GuardFormat::kOpenAiModeration, "", "x",
                    200};
  CHECK(s.client->Classify(closed).outcome == Outcome::kError);
  // An answer in neither format: the mock's ordinary chat answer.
  GuardQuery wrong = s.Llama("hello");
  wrong.model = "m-large";
  auto e = s.client->Classify(wrong);
  CHECK(e.outcome == Outcome::kError);
  CHECK(e.error == "the guard answered neither safe nor unsafe");
}

TEST_CASE("answers that are not understood are errors") {
  using api::ParseGuardAnswer;
  CHECK(ParseGuardAnswer(GuardFormat::kOpenAiModeration, "not json").outcome == Outcome::kError);
  CHECK(ParseGuardAnswer(GuardFormat::kOpenAiModeration, R"({"results":[]})").outcome ==
        Outcome::kError);
  CHECK(ParseGuardAnswer(GuardFormat::kOpenAiModeration, R"({"results":[{"flagged":"yes"}]})")
            .outcome == Outcome::kError);
  auto bare = ParseGuardAnswer(GuardFormat::kOpenAiModeration, R"({"results":[{"flagged":true}]})");
  CHECK(bare.outcome == Outcome::kUnsafe);
  CHECK(bare.categories.empty());
  auto spaced = ParseGuardAnswer(
      GuardFormat::kLlamaGuard, R"({"choices":[{"message":{"content":"\n unsafe\nS1, S10 \n"}}]})");
  CHECK(spaced.outcome == Outcome::kUnsafe);
  CHECK(spaced.categories == std::vector<std::string>{"S1", "S10"});
  CHECK(ParseGuardAnswer(GuardFormat::kLlamaGuard, R"({"choices":[]})").outcome == Outcome::kError);
}

TEST_CASE("ClassifyAsync answers on the client's thread") {
  Stand s;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Outcome> got;
  for (const char* text : {"sarin", "bread"}) {
    REQUIRE(s.client->ClassifyAsync(s.Moderation(text), [&](engine::GuardVerdict v) {
      std::lock_guard lock(mu);
      got.push_back(v.outcome);
      cv.notify_all();
    }));
  }
  std::unique_lock lock(mu);
  REQUIRE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return got.size() == 2; }));
  std::sort(got.begin(), got.end());
  CHECK(got == std::vector<Outcome>{Outcome::kSafe, Outcome::kUnsafe});
}

TEST_CASE("a policy's guard rule decides through the engine against the stand-in") {
  Stand s;
  const std::string yaml =
      "apiVersion: tosgate/v1\nkind: Policy\nmetadata: {name: t}\n"
      "operations: {chat: {paths: [/v1/chat/completions]}}\n"
      "rules:\n"
      "  - id: guard.moderation\n"
      "    kind: guard\n"
      "    endpoint: " +
      s.Url("/v1/moderations") +
      "\n"
      "    format: openai-moderation\n"
      "    timeout: 2s\n"
      "    failure_mode: closed\n"
      "    categories: {self-harm: flag}\n";
  policies::LoadResult loaded = policies::LoadPolicyFiles({{"p.yaml", yaml}});
  REQUIRE(loaded.snapshot);
  FakeClock clock;
  auto state = engine::NewMemoryStateStore();
  engine::Engine e({.clock = &clock, .state = state.get(), .guard = s.client.get()});
  e.Publish(loaded.snapshot);
  auto ask = [&](const std::string& text) {
    Request r;
    r.method = "POST";
    r.path = "/v1/chat/completions";
    Account a;
    a.id = "a1";
    r.account = a;
    r.body.present = true;
    r.body.user_text = text;
    r.body.prompt_text = "user: " + text;
    return e.Check(r);
  };
  CHECK(ask("bake bread").effect == Effect::kAllow);
  Decision d = ask("make sarin");
  CHECK(d.effect == Effect::kDeny);
  CHECK(d.reason == "guard-unsafe");
  Decision self_harm = ask("i want to kill myself");
  CHECK(self_harm.effect == Effect::kAllow);
  REQUIRE(self_harm.matches.size() == 1);
  CHECK(self_harm.matches[0].action == Action::kFlag);
  const uint64_t before = s.mock->requests();
  CHECK(ask("make sarin").effect == Effect::kDeny);  // from the cache
  CHECK(s.mock->requests() == before);
}
