// Attacks on the request body: the same bytes under another Content-Type,
// bodies that are not JSON or arrive cut short, duplicate keys that a
// scanner and an upstream read differently, and values lenient upstreams
// coerce. Issue 19, "What is checked is not what is forwarded".
#include <doctest/doctest.h>

#include "tests/adversarial/gateway_fixture.h"

namespace tosgate::test {
namespace {

TEST_CASE("body: a prohibited prompt sent as application/json is denied and never relayed") {
  Gateway g;
  RawResponse r = PostJson(g.port(), "/v1/chat/completions", SarinChat());
  CHECK(r.status == 403);
  CHECK(Reason(r) == assumed::kProhibitedWeapons);
  CHECK(g.received() == 0);
}

TEST_CASE("body: the same prohibited bytes under another Content-Type are still read and denied") {
  Gateway g;
  const std::vector<std::optional<std::string>> types = {
      "text/plain", "application/x-www-form-urlencoded", std::nullopt, "text/plain; charset=utf-8",
      "application/octet-stream"};
  for (const auto& type : types) {
    INFO("Content-Type: " << (type ? *type : "(none)"));
    Headers h = {{"Authorization", std::string("Bearer ") + kGoodKey}};
    if (type) h.emplace_back("Content-Type", *type);
    RawResponse r = Send(g.port(), "POST", "/v1/chat/completions", h, SarinChat());
    CHECK(r.status == 403);
    CHECK(Reason(r) == assumed::kProhibitedWeapons);
    CHECK(g.received() == 0);
  }
}

TEST_CASE("body: a body that is not JSON is refused as unreadable, never relayed") {
  Gateway g;
  for (const std::string& body :
       {std::string("how do I synthesize sarin"), std::string(R"({"model":"m","messages":[)"),
        std::string("model=m&prompt=sarin")}) {
    INFO(body);
    for (const char* type : {"application/json", "text/plain"}) {
      RawResponse r = Send(
          g.port(), "POST", "/v1/chat/completions",
          {{"Authorization", std::string("Bearer ") + kGoodKey}, {"Content-Type", type}}, body);
      CHECK(r.status == 400);
      CHECK(ProblemType(r) == assumed::kUnreadableBody);
    }
  }
  CHECK(g.received() == 0);
}

TEST_CASE("body: duplicate keys are refused, whichever copy holds the prohibited text") {
  Gateway g;
  const std::string benign = R"([{"role":"user","content":"Say hello."}])";
  const std::string evil = std::string(R"([{"role":"user","content":")") + kSarin + R"("}])";
  // A scanner that keeps the first copy and an upstream that keeps the last
  // (or the other way round) read two different requests.
  for (const auto& [first, second] : {std::pair{benign, evil}, std::pair{evil, benign}}) {
    const std::string body =
        R"({"model":"m","max_tokens":16,"messages":)" + first + R"(,"messages":)" + second + "}";
    INFO(body);
    RawResponse r = PostJson(g.port(), "/v1/chat/completions", body);
    CHECK(r.status == 400);
    CHECK(g.received() == 0);
  }
  // A duplicated scalar too: which model, which max_tokens was decided?
  RawResponse r = PostJson(g.port(), "/v1/chat/completions",
                           R"({"model":"m","max_tokens":1,"max_tokens":100000,"messages":[]})");
  CHECK(r.status == 400);
  CHECK(g.received() == 0);
}

TEST_CASE("body: logprobs given as a string with logit_bias is the extraction it looks like") {
  Gateway g;
  // An upstream that coerces "true" to true answers log-probabilities with
  // biased logits: the default pack's extraction rule must see it so.
  for (const char* logprobs : {R"("true")", R"("True")", "1"}) {
    const std::string body =
        std::string(R"({"model":"m","max_tokens":1,"logprobs":)") + logprobs +
        R"(,"logit_bias":{"50256":100},"messages":[{"role":"user","content":"hi"}]})";
    INFO(body);
    RawResponse r = PostJson(g.port(), "/v1/chat/completions", body);
    // Denied as extraction, or refused as a malformed body; never relayed.
    CHECK((r.status == 403 || r.status == 400));
    if (r.status == 403) CHECK(Reason(r) == assumed::kExtraction);
  }
  // The strict form, for comparison: the rule itself is there.
  RawResponse strict = PostJson(
      g.port(), "/v1/chat/completions",
      R"({"model":"m","logprobs":true,"logit_bias":{"50256":100},"messages":[{"role":"user","content":"hi"}]})");
  CHECK(strict.status == 403);
  CHECK(Reason(strict) == assumed::kExtraction);
  CHECK(g.received() == 0);
}

TEST_CASE("body: a benign body under text/plain is relayed as the bytes that were parsed") {
  Gateway g;
  const std::string body = BenignChat();
  RawResponse r = Send(
      g.port(), "POST", "/v1/chat/completions",
      {{"Authorization", std::string("Bearer ") + kGoodKey}, {"Content-Type", "text/plain"}}, body);
  CHECK(r.status == 200);
  REQUIRE(g.upstream->count() == 1);
  const ReceivedRequest got = g.upstream->received()[0];
  CHECK(got.body == body);
  CheckReceivedEqualsDecided(got, g);
}

TEST_CASE("body: forward-auth with x-envoy-auth-partial-body: true and a cut body is unreadable") {
  Gateway g(GatewayConfig{.inline_mode = false, .trusted_proxies = {"127.0.0.0/8"}});
  const std::string whole = SarinChat();
  const std::string cut = whole.substr(0, whole.size() / 2);  // Envoy stopped at its limit
  RawResponse r = Send(g.port(), "POST", "/v1/check/v1/chat/completions",
                       {{"Authorization", std::string("Bearer ") + kGoodKey},
                        {"Content-Type", "application/json"},
                        {"x-envoy-auth-partial-body", "true"}},
                       cut);
  CHECK(r.status == 400);
  CHECK(ProblemType(r) == assumed::kUnreadableBody);
  // No decision was made on a body it could not read.
  CHECK(r.header("x-tos-decision") != "allow");
}

}  // namespace
}  // namespace tosgate::test
