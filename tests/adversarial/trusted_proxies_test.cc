// Attacks with headers only a proxy may set: forwarding headers that spend
// other addresses' limits and forge the audit trail, original-URI headers
// that move a request to another operation, and identity headers that name
// another account. Issue 19, "Trusted headers from anyone".
#include <doctest/doctest.h>

#include "tests/adversarial/gateway_fixture.h"

namespace tosgate::test {
namespace {

TEST_CASE(
    "trusted proxies: /v1/check from an untrusted peer ignores X-Forwarded-For and X-Original-*") {
  // 127.0.0.1, the test's client, is not in 10.0.0.0/8.
  Gateway g(GatewayConfig{.inline_mode = false});
  // Envoy-style (the original path after the prefix) with a forged address.
  RawResponse r = Send(g.port(), "POST", "/v1/check/v1/chat/completions",
                       {{"Authorization", std::string("Bearer ") + kGoodKey},
                        {"X-Forwarded-For", "198.51.100.7"},
                        {"X-Real-IP", "198.51.100.8"},
                        {"Forwarded", "for=198.51.100.9"},
                        {"Content-Type", "application/json"}},
                       BenignChat());
  REQUIRE(r.status == 200);
  std::optional<engine::AuditRecord> rec = g.audit.Find(r.header("x-tos-decision-id"));
  REQUIRE(rec.has_value());
  CHECK(rec->client_ip == "127.0.0.1");
  CHECK(rec->path == "/v1/chat/completions");

  // nginx-style headers naming another URI and method: not believed, so the
  // request is not decided as the named chat request.
  const size_t before = g.audit.size();
  RawResponse o = Send(g.port(), "GET", "/v1/check",
                       {{"Authorization", std::string("Bearer ") + kGoodKey},
                        {"X-Original-URI", "/v1/chat/completions"},
                        {"X-Original-Method", "POST"},
                        {"X-Forwarded-Uri", "/v1/chat/completions"},
                        {"X-Forwarded-Method", "POST"},
                        {"X-Forwarded-For", "198.51.100.7"}});
  if (g.audit.size() > before) {
    const engine::AuditRecord last = *g.audit.Last();
    CHECK(last.client_ip == "127.0.0.1");
    CHECK(last.path != "/v1/chat/completions");
    CHECK(last.method == "GET");
    CHECK(last.operation != "chat");
  } else {
    CHECK(o.status >= 400);  // refused before a decision
  }
}

TEST_CASE("trusted proxies: the same headers from a trusted proxy are believed") {
  // The control case: the defence does not break real proxies.
  Gateway g(GatewayConfig{.inline_mode = false, .trusted_proxies = {"127.0.0.0/8"}});
  RawResponse r = Send(g.port(), "GET", "/v1/check",
                       {{"Authorization", std::string("Bearer ") + kGoodKey},
                        {"X-Original-URI", "/v1/chat/completions"},
                        {"X-Original-Method", "POST"},
                        {"X-Forwarded-For", "198.51.100.7"}});
  REQUIRE(r.status == 200);
  std::optional<engine::AuditRecord> rec = g.audit.Find(r.header("x-tos-decision-id"));
  REQUIRE(rec.has_value());
  CHECK(rec->client_ip == "198.51.100.7");
  CHECK(rec->path == "/v1/chat/completions");
  CHECK(rec->operation == "chat");
}

TEST_CASE("trusted proxies: an identity header from an untrusted peer does not name the account") {
  Gateway g(GatewayConfig{.inline_mode = false, .trusted_account_header = "x-tos-account"});
  // An unknown key claiming the enterprise account "victim": it would spend
  // the victim's limits and get its tier.
  RawResponse r = Send(g.port(), "POST", "/v1/check/v1/chat/completions",
                       {{"Authorization", "Bearer sk-attacker-51b2"},
                        {"x-tos-account", "victim"},
                        {"Content-Type", "application/json"}},
                       BenignChat());
  std::optional<engine::AuditRecord> rec = g.audit.Last();
  REQUIRE(rec.has_value());
  CHECK(rec->account != "victim");
  CHECK(r.header("x-tos-account") != "victim");

  // And claiming a suspended account's id does not help or hurt: the key decides.
  RawResponse s = Send(g.port(), "POST", "/v1/check/v1/chat/completions",
                       {{"Authorization", std::string("Bearer ") + kSuspendedKey},
                        {"x-tos-account", "acct-good"},
                        {"Content-Type", "application/json"}},
                       BenignChat());
  CHECK(s.status == 403);
  CHECK(Reason(s) == assumed::kSuspended);
}

TEST_CASE(
    "trusted proxies: inline, untrusted forwarding and identity headers never reach the upstream") {
  Gateway g(GatewayConfig{.trusted_account_header = "x-authenticated-account"});
  RawResponse r = Send(g.port(), "POST", "/v1/chat/completions",
                       {{"Authorization", std::string("Bearer ") + kGoodKey},
                        {"X-Forwarded-For", "198.51.100.7"},
                        {"X-Real-IP", "198.51.100.8"},
                        {"Forwarded", "for=198.51.100.9"},
                        {"x-authenticated-account", "victim"},
                        {"Content-Type", "application/json"}},
                       BenignChat());
  CHECK(r.status == 200);
  REQUIRE(g.upstream->count() == 1);
  const ReceivedRequest got = g.upstream->received()[0];
  // The client's claims are gone; tosgate names the peer it saw.
  CHECK_FALSE(got.has("x-authenticated-account"));
  CHECK_FALSE(got.has("x-real-ip"));
  CHECK_FALSE(got.has("forwarded"));
  for (const std::string& xff : got.all("x-forwarded-for"))
    CHECK(xff.find("198.51.100.") == std::string::npos);
  std::optional<engine::AuditRecord> rec = g.audit.Find(got.header("x-tos-decision-id"));
  REQUIRE(rec.has_value());
  CHECK(rec->account == "acct-good");
  CHECK(rec->client_ip == "127.0.0.1");
  CheckReceivedEqualsDecided(got, g);
}

}  // namespace
}  // namespace tosgate::test
