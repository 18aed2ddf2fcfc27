// Attacks on identity through credentials: a decoy Bearer next to the real
// key an upstream reads, keys in carriers tosgate did not read, and the
// inline proxy forwarding more than the one credential it checked. Issue 19,
// "Two credentials".
#include <doctest/doctest.h>

#include "tests/adversarial/gateway_fixture.h"

namespace tosgate::test {
namespace {

TEST_CASE("credentials: a random Bearer next to a suspended account's x-api-key is ambiguous") {
  Gateway g;
  // Anthropic's upstream reads x-api-key; tosgate must not decide on the
  // decoy (a fresh free-tier key with no history).
  for (const char* carrier : {"x-api-key", "api-key", "x-goog-api-key"}) {
    INFO(carrier);
    RawResponse r = Send(g.port(), "POST", "/v1/messages",
                         {{"Authorization", "Bearer sk-decoy-7f3a9c"},
                          {carrier, kSuspendedKey},
                          {"Content-Type", "application/json"}},
                         BenignChat());
    CHECK((r.status == 400 || r.status == 401));
    CHECK(ProblemType(r) == assumed::kAmbiguousCredentials);
  }
  // In the query too (Gemini's ?key=).
  RawResponse q =
      Send(g.port(), "POST", std::string("/v1/chat/completions?key=") + kSuspendedKey,
           {{"Authorization", "Bearer sk-decoy-7f3a9c"}, {"Content-Type", "application/json"}},
           BenignChat());
  CHECK((q.status == 400 || q.status == 401));
  CHECK(ProblemType(q) == assumed::kAmbiguousCredentials);
  CHECK(g.received() == 0);
}

TEST_CASE("credentials: two different keys in one header carrier's duplicates are ambiguous") {
  Gateway g;
  RawResponse r = Send(g.port(), "POST", "/v1/chat/completions",
                       {{"x-api-key", "sk-decoy-7f3a9c"},
                        {"x-api-key", kSuspendedKey},
                        {"Content-Type", "application/json"}},
                       BenignChat());
  CHECK((r.status == 400 || r.status == 401));
  CHECK(ProblemType(r) == assumed::kAmbiguousCredentials);
  CHECK(g.received() == 0);
}

TEST_CASE("credentials: a suspended account's key is read in every carrier an upstream reads") {
  Gateway g;
  const std::vector<std::pair<std::string, Headers>> cases = {
      {"/v1/messages", {{"x-api-key", kSuspendedKey}}},
      {"/v1/chat/completions", {{"api-key", kSuspendedKey}}},
      {"/v1/chat/completions", {{"x-goog-api-key", kSuspendedKey}}},
      {std::string("/v1/chat/completions?key=") + kSuspendedKey, {}},
      {"/v1/chat/completions", {{"Authorization", std::string("bearer ") + kSuspendedKey}}},
  };
  for (auto [target, headers] : cases) {
    INFO(target << " " << (headers.empty() ? "" : headers[0].first));
    headers.emplace_back("Content-Type", "application/json");
    RawResponse r = Send(g.port(), "POST", target, headers, BenignChat());
    CHECK(r.status == 403);
    CHECK(Reason(r) == assumed::kSuspended);
  }
  CHECK(g.received() == 0);
}

TEST_CASE("credentials: the same key in two carriers is allowed and forwarded exactly once") {
  Gateway g;
  const std::vector<std::pair<std::string, Headers>> cases = {
      {"/v1/chat/completions",
       {{"Authorization", std::string("Bearer ") + kGoodKey}, {"x-api-key", kGoodKey}}},
      {"/v1/messages", {{"x-api-key", kGoodKey}, {"api-key", kGoodKey}}},
      {std::string("/v1/chat/completions?key=") + kGoodKey + "&alt=sse",
       {{"x-goog-api-key", kGoodKey}}},
  };
  size_t n = 0;
  for (auto [target, headers] : cases) {
    INFO(target);
    headers.emplace_back("Content-Type", "application/json");
    RawResponse r = Send(g.port(), "POST", target, headers, BenignChat());
    CHECK(r.status == 200);
    REQUIRE(g.upstream->count() == ++n);
    const ReceivedRequest got = g.upstream->received().back();
    const std::vector<std::string> creds = CredentialsIn(got);
    CHECK(creds.size() == 1);
    CheckReceivedEqualsDecided(got, g);
  }
  // The query keeps its other parameters.
  CHECK(g.upstream->received().back().query().find("alt=sse") != std::string::npos);
}

TEST_CASE("credentials: a request with one key relays only that key, never a dropped duplicate") {
  Gateway g;
  // Proxy-Authorization is the hop's credential and never the upstream's.
  RawResponse r = Send(g.port(), "POST", "/v1/chat/completions",
                       {{"Authorization", std::string("Bearer ") + kGoodKey},
                        {"Proxy-Authorization", "Basic dXNlcjpwYXNz"},
                        {"Content-Type", "application/json"}},
                       BenignChat());
  CHECK(r.status == 200);
  REQUIRE(g.upstream->count() == 1);
  const ReceivedRequest got = g.upstream->received()[0];
  CHECK_FALSE(got.has("proxy-authorization"));
  CheckReceivedEqualsDecided(got, g);
}

}  // namespace
}  // namespace tosgate::test
