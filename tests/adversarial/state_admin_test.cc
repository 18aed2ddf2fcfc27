// Attacks on bounded state and on the admin server: a flood of fresh keys
// that evicts a throttled key's counter, and slow clients that hold every
// admin thread so that health probes fail. Issue 19, "State eviction".
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "api/admin/admin_server.h"
#include "api/admin/auth.h"
#include "engine/sha256.h"
#include "tests/adversarial/gateway_fixture.h"

namespace tosgate::test {
namespace {

std::string CheckWith(const std::string& key) {
  return HttpRequest("GET", "/v1/check/v1/chat/completions",
                     {{"Authorization", "Bearer " + key}, {"X-Original-Method", "POST"}});
}

TEST_CASE("state: a flood of fresh keys cannot unthrottle a throttled key") {
  // 32 counters at most; the default pack gives unknown keys the free tier,
  // 20 requests a minute, and the clock does not move: every counter stays live.
  Gateway g(GatewayConfig{.inline_mode = false,
                          .trusted_proxies = {"127.0.0.0/8"},
                          .state = engine::MemoryStateOptions{.max_entries = 32, .shards = 1}});
  RawClient c(g.port());
  REQUIRE(c.connected());
  RawResponse r;
  const std::string victim = "sk-adv-throttled-1";
  for (int i = 0; i < 20; ++i) {
    REQUIRE(c.RoundTrip(CheckWith(victim), &r));
    REQUIRE(r.status == 200);
  }
  REQUIRE(c.RoundTrip(CheckWith(victim), &r));
  REQUIRE(r.status == 429);

  // 500 fresh keys, one request each.
  for (int i = 0; i < 500; ++i)
    REQUIRE(c.RoundTrip(CheckWith("sk-adv-flood-" + std::to_string(i)), &r));

  // Still throttled (or refused for want of state, per failure_mode): never allowed.
  REQUIRE(c.RoundTrip(CheckWith(victim), &r));
  CHECK(r.status != 200);
  CHECK(r.header("x-tos-decision") != "allow");
}

TEST_CASE("admin: health probes answer while more slow clients than threads trickle bytes") {
  test::Gateway g(GatewayConfig{.inline_mode = false});
  api::AdminServerOptions o;
  o.listen = "127.0.0.1:0";
  o.threads = 2;
  // An operator's long timeouts: the defence must not be "wait them out".
  o.read_timeout = std::chrono::seconds(30);
  o.write_timeout = std::chrono::seconds(30);
  auto admin = api::AdminServer::Start(o, *g.engine, nullptr);
  REQUIRE_MESSAGE(admin.ok(), admin.status().ToString());
  const int port = (*admin)->port();

  // Eight connections each send part of a request and then a byte at a time.
  std::vector<std::unique_ptr<RawClient>> slow;
  for (int i = 0; i < 8; ++i) {
    slow.push_back(std::make_unique<RawClient>(port));
    REQUIRE(slow.back()->connected());
    REQUIRE(slow.back()->Send("GET /healthz HTTP/1.1\r\nHo"));
  }
  for (int round = 0; round < 3; ++round) {
    RawClient probe(port);
    REQUIRE(probe.connected());
    // Answered within 3 s, not after the slow clients' 30 s.
    timeval tv{3, 0};
    ::setsockopt(probe.fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    REQUIRE(probe.Send(
        HttpRequest("GET", round == 1 ? "/readyz" : "/healthz", {{"Connection", "close"}})));
    for (auto& s : slow) (void)s->Send("s");  // a trickled byte each
    RawResponse r;
    CHECK_MESSAGE(probe.Read(&r), "probe " << round << " got no answer within 3 s");
    CHECK(r.status == 200);
  }
}

TEST_CASE("admin: a flood of failing addresses cannot wipe a blocked address's back-off") {
  FakeClock clock{1'767'225'600'000};
  api::admin::BackoffOptions b;
  b.max_addresses = 100;  // 10,000 by default; the same attack, smaller
  api::admin::TokenSpec token;
  token.name = "ops";
  token.sha256 = engine::Sha256Hex("the-real-admin-token");
  token.role = api::admin::Role::kAdmin;
  api::admin::Authenticator auth({token}, &clock, b);
  const std::string wrong = "Bearer guess";
  auto fail_until_blocked = [&](const std::string& addr) {
    for (int i = 0; i <= b.free_failures; ++i) auth.Authenticate(&wrong, addr);
  };
  // The attacker fills the table with addresses that are all blocked...
  for (int i = 0; i < 99; ++i) fail_until_blocked("198.51.100." + std::to_string(i));
  // ...the guesser being throttled is the most recent of them...
  const std::string guesser = "203.0.113.9";
  fail_until_blocked(guesser);
  REQUIRE(auth.Authenticate(&wrong, guesser).outcome ==
          api::admin::Authenticator::Outcome::kSlowDown);
  // ...and one more fresh address must not wipe the table.
  fail_until_blocked("198.51.100.200");
  CHECK(auth.Authenticate(&wrong, guesser).outcome ==
        api::admin::Authenticator::Outcome::kSlowDown);
}

}  // namespace
}  // namespace tosgate::test
