// Attacks through the control endpoints: a client refunding its own
// reservation with a usage report, guessing decision ids, and overflowing
// reported counts. Issue 19, "Usage reports from the client".
#include <doctest/doctest.h>

#include <bitset>
#include <set>

#include "tests/adversarial/gateway_fixture.h"

namespace tosgate::test {
namespace {

std::string UsageReport(const std::string& json) {
  return HttpRequest("POST", "/v1/usage", {{"Content-Type", "application/json"}}, json);
}
RawResponse PostUsage(int port, const std::string& json) {
  RawClient c(port);
  REQUIRE(c.connected());
  RawResponse r;
  REQUIRE(c.RoundTrip(UsageReport(json), &r));
  return r;
}

// A policy with a token budget a client would like refunded.
const std::pair<std::string, std::string> kBudget = {"adversarial/budget.yaml",
                                                     R"(apiVersion: tosgate/v1
kind: Policy
metadata: {name: budget}
rules:
  - id: adversarial.tokens
    kind: token_budget
    match: {operations: [chat]}
    limit: {tokens: 1000, per: 1m}
    default_max_tokens: 16
)"};

TEST_CASE("control: usage reports and checks on the inline client port are 404 and never relayed") {
  Gateway g(GatewayConfig{.control_listener = true});
  RawResponse d = PostJson(g.port(), "/v1/chat/completions", BenignChat());
  REQUIRE(d.status == 200);
  const std::string id = d.header("x-tos-decision-id");
  REQUIRE(!id.empty());
  const size_t relayed = g.received();

  // Not "unknown-decision" (today's answer once the relay has reported):
  // the endpoint itself is not there, whatever the report says.
  RawResponse u =
      PostUsage(g.port(), R"({"decision_id":")" + id + R"(","input_tokens":0,"output_tokens":0})");
  CHECK(u.status == 404);
  CHECK(ProblemType(u) != "unknown-decision");
  CHECK(PostUsage(g.port(), "{}").status == 404);
  RawResponse c = Send(g.port(), "GET", "/v1/check/v1/chat/completions",
                       {{"Authorization", std::string("Bearer ") + kGoodKey}});
  CHECK(c.status == 404);
  RawResponse cp = Send(g.port(), "POST", "/v1/check",
                        {{"Authorization", std::string("Bearer ") + kGoodKey},
                         {"X-Original-URI", "/v1/chat/completions"},
                         {"X-Original-Method", "POST"}},
                        BenignChat());
  CHECK(cp.status == 404);
  CHECK(g.received() == relayed);

  // On the control listener the same report is understood (an inline
  // decision cannot be reconciled from outside: 409; see the next test).
  RawResponse ok = PostUsage(g.control_port(),
                             R"({"decision_id":"0123456789abcdef01234567","output_tokens":5})");
  CHECK(ok.status == 404);
  CHECK(ProblemType(ok) == "unknown-decision");
}

TEST_CASE(
    "control: a usage report cannot refund the reservation of a stream the inline proxy relays") {
  Gateway g(GatewayConfig{.extra_policies = {kBudget}, .control_listener = true});
  // A stream reserving 900 of the 1000 tokens, held open by the upstream.
  RawClient stream(g.port());
  REQUIRE(stream.connected());
  REQUIRE(
      stream.Send(HttpRequest("POST", "/v1/chat/completions",
                              {{"Authorization", std::string("Bearer ") + kGoodKey},
                               {"Content-Type", "application/json"},
                               {"x-test-hold", "1"}},
                              R"({"model":"m","max_tokens":900,"stream":true,"messages":[]})")));
  // Its head carries the decision id while the body is still coming.
  std::string head;
  while (head.find("\r\n\r\n") == std::string::npos) {
    char buf[1024];
    ssize_t n = ::recv(stream.fd(), buf, sizeof buf, 0);
    REQUIRE_MESSAGE(n > 0, "the held stream's head did not arrive");
    head.append(buf, static_cast<size_t>(n));
  }
  std::string lower = head;
  for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  const size_t at = lower.find("x-tos-decision-id:");
  REQUIRE(at != std::string::npos);
  std::string id = head.substr(at + 18, head.find("\r\n", at) - at - 18);
  while (!id.empty() && id.front() == ' ') id.erase(0, 1);

  // The client reports zero usage for its own running stream.
  RawResponse u = PostUsage(
      g.usage_port(), R"({"decision_id":")" + id + R"(","input_tokens":0,"output_tokens":0})");
  CHECK(u.status == assumed::kUsageForInlineDecision);
  // The 900 tokens are still held: another 900 do not fit.
  RawResponse second =
      PostJson(g.port(), "/v1/chat/completions", R"({"model":"m","max_tokens":900,"messages":[]})");
  CHECK(second.status == 429);
  g.upstream->Release();
}

TEST_CASE("control: reported token counts are bounded") {
  // Forward-auth mode: the usage endpoint is where the proxy reports.
  Gateway g(GatewayConfig{
      .inline_mode = false, .trusted_proxies = {"127.0.0.0/8"}, .extra_policies = {kBudget}});
  RawResponse d = Send(g.port(), "GET", "/v1/check/v1/chat/completions",
                       {{"Authorization", std::string("Bearer ") + kGoodKey},
                        {"X-Original-Method", "POST"},
                        {"Content-Type", "application/json"}},
                       R"({"model":"m","max_tokens":900,"messages":[]})");
  REQUIRE(d.status == 200);
  const std::string id = d.header("x-tos-decision-id");
  const int usage_port = g.usage_port();
  for (const char* counts :
       {R"("output_tokens":1e30)", R"("output_tokens":-5)",
        R"("input_tokens":9223372036854775807,"output_tokens":9223372036854775807)",
        R"("input_tokens":4611686018427387904,"output_tokens":4611686018427387904)",
        R"("output_tokens":18446744073709551615)"}) {
    INFO(counts);
    RawResponse r = PostUsage(usage_port, R"({"decision_id":")" + id + "\"," + counts + "}");
    CHECK(r.status == 400);
  }
  // The reservation is still there for an honest report.
  CHECK(PostUsage(usage_port,
                  R"({"decision_id":")" + id + R"(","input_tokens":10,"output_tokens":90})")
            .status == 204);
}

// The 128-bit value of a hex decision id (its last 32 hex digits).
std::bitset<128> Bits(const std::string& hex) {
  std::bitset<128> b;
  const size_t n = std::min<size_t>(hex.size(), 32);
  for (size_t i = 0; i < n; ++i) {
    const char c = hex[hex.size() - n + i];
    const int v = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
    b <<= 4;
    b |= std::bitset<128>(static_cast<unsigned>(v));
  }
  return b;
}

TEST_CASE("control: decision ids carry at least 96 unpredictable bits") {
  Gateway g;
  // Denied requests (a declared training purpose): each gets an id, none is relayed.
  RawClient c(g.port());
  REQUIRE(c.connected());
  std::vector<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    RawResponse r;
    REQUIRE(c.RoundTrip(HttpRequest("POST", "/v1/chat/completions",
                                    {{"Authorization", std::string("Bearer ") + kVictimKey},
                                     {"Content-Type", "application/json"},
                                     {"X-Usage-Purpose", "model-training"}},
                                    BenignChat()),
                        &r));
    REQUIRE(r.status == 403);
    ids.push_back(r.header("x-tos-decision-id"));
  }
  CHECK(g.received() == 0);
  std::set<std::string> distinct(ids.begin(), ids.end());
  CHECK(distinct.size() == ids.size());
  for (const std::string& id : ids) {
    REQUIRE(id.size() >= 24);  // 96 bits as hex at least
    for (char ch : id) REQUIRE(std::isxdigit(static_cast<unsigned char>(ch)));
  }
  // With 96 random bits, every bit position takes both values across 1000
  // ids, and consecutive ids differ in about half their bits. A time stamp
  // plus a counter (the id of today's main) varies in a dozen low bits.
  std::bitset<128> ones, zeros;
  int min_distance = 128;
  std::set<std::string> steps;
  for (size_t i = 0; i < ids.size(); ++i) {
    const std::bitset<128> b = Bits(ids[i]);
    ones |= b;
    zeros |= ~b;
    if (i > 0) {
      const std::bitset<128> prev = Bits(ids[i - 1]);
      min_distance = std::min(min_distance, static_cast<int>((b ^ prev).count()));
      steps.insert((b ^ prev).to_string());
    }
  }
  CHECK((ones & zeros).count() >= 96);
  CHECK(min_distance >= 16);
  CHECK(steps.size() > ids.size() / 2);  // no constant or repeating step
}

}  // namespace
}  // namespace tosgate::test
