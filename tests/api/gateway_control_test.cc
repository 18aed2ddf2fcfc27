// The data plane's control endpoints: where checks and usage reports are
// served (the control listener, gateway_server.h), the control token, and
// the bounds on a usage report.
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "api/gateway/gateway_server.h"
#include "api/request/usage_report.h"
#include "engine/sha256.h"
#include "policies/loader.h"
#include "tests/api/raw_client.h"
#include "tests/api/recording_upstream.h"
#include "tosgate/clock.h"

namespace tosgate::api {
namespace {

using test::HttpRequest;
using test::RawClient;
using test::RawResponse;

constexpr char kPolicy[] = R"(apiVersion: tosgate/v1
kind: Policy
metadata: {name: control}
operations:
  chat: {methods: [POST], paths: [/v1/chat/completions]}
rules:
  - id: budget
    kind: token_budget
    match: {operations: [chat]}
    limit: {tokens: 10000, per: 1m}
)";

constexpr char kToken[] = "ctl-secret-1";

struct Fixture {
  FakeClock clock{1'767'225'600'000};
  std::unique_ptr<engine::StateStore> state = engine::NewMemoryStateStore();
  engine::Engine engine{engine::EngineOptions{&clock, state.get(), nullptr, nullptr}};
  std::unique_ptr<test::RecordingUpstream> upstream;  // inline mode when set
  std::unique_ptr<GatewayServer> server;

  // `control`: the control listener's address, "" for none.
  Fixture(bool inline_mode, std::string control, std::string token_sha256 = "") {
    policies::LoadResult r = policies::LoadPolicyFiles({{"control.yaml", kPolicy}});
    REQUIRE_MESSAGE(r.errors.empty(), r.errors[0].ToString());
    engine.Publish(r.snapshot);
    GatewayServerOptions o;
    o.listen = "127.0.0.1:0";
    o.threads = 1;
    o.control_listen = std::move(control);
    o.control_token_sha256 = std::move(token_sha256);
    if (inline_mode) {
      upstream = std::make_unique<test::RecordingUpstream>();
      o.upstream_url = upstream->url();
    }
    auto s = GatewayServer::Start(std::move(o), engine);
    REQUIRE_MESSAGE(s.ok(), s.status().ToString());
    server = std::move(s).value();
  }
  ~Fixture() { server.reset(); }  // before the upstream it pools connections to
  int port() const { return server->port(); }
  int control() const { return server->control_port(); }
};

RawResponse RoundTrip(int port, const std::string& request) {
  RawClient c(port);
  RawResponse r;
  REQUIRE(c.RoundTrip(request, &r));
  return r;
}

// An allowed check reserving 9000 of the 10000 tokens; its decision id.
std::string Reserve(int port) {
  RawResponse r = RoundTrip(
      port, HttpRequest("POST", "/v1/check",
                        {{"X-Original-Method", "POST"}, {"X-Original-URI", "/v1/chat/completions"},
                         {"Authorization", "Bearer sk-1"}, {"Content-Type", "application/json"}},
                        R"({"model":"m","max_tokens":9000})"));
  REQUIRE_MESSAGE(r.status == 200, r.body);
  return r.header("x-tos-decision-id");
}

std::string Usage(const std::string& body, std::vector<std::pair<std::string, std::string>> extra = {}) {
  extra.emplace_back("Content-Type", "application/json");
  return HttpRequest("POST", "/v1/usage", extra, body);
}

std::string Report(const std::string& id, int64_t in, int64_t out) {
  return R"({"decision_id":")" + id + R"(","input_tokens":)" + std::to_string(in) +
         R"(,"output_tokens":)" + std::to_string(out) + "}";
}

TEST_CASE("control listener: in inline mode it serves checks and usage reports; /healthz on both") {
  Fixture f(/*inline_mode=*/true, "127.0.0.1:0");
  REQUIRE(f.control() > 0);
  CHECK(f.control() != f.port());
  const std::string id = Reserve(f.control());
  CHECK(RoundTrip(f.control(), Usage(Report(id, 10, 20))).status == 204);
  // The same report on the client port: 404, and the upstream never sees it.
  const std::string again = Reserve(f.control());
  RawResponse client = RoundTrip(f.port(), Usage(Report(again, 0, 0)));
  CHECK(client.status == 404);
  CHECK(client.body.find("gateway.control_listen") != std::string::npos);
  CHECK(f.upstream->count() == 0);
  // Still held: a report on the control port finds it.
  CHECK(RoundTrip(f.control(), Usage(Report(again, 1, 1))).status == 204);
  // The control port relays nothing.
  CHECK(RoundTrip(f.control(), HttpRequest("POST", "/v1/chat/completions", {{"Authorization", "Bearer sk-1"}},
                                           R"({"model":"m"})"))
            .status == 404);
  CHECK(f.upstream->count() == 0);
  CHECK(RoundTrip(f.port(), HttpRequest("GET", "/healthz")).status == 200);
  CHECK(RoundTrip(f.control(), HttpRequest("GET", "/healthz")).status == 200);
}

TEST_CASE("control listener: in inline mode without one, checks and usage reports are served nowhere") {
  Fixture f(/*inline_mode=*/true, "");
  CHECK(f.control() == 0);
  CHECK(RoundTrip(f.port(), HttpRequest("GET", "/v1/check")).status == 404);
  CHECK(RoundTrip(f.port(), Usage(Report("d", 0, 0))).status == 404);
  CHECK(f.upstream->count() == 0);
}

TEST_CASE("control listener: in forward-auth mode the check stays on the main port and usage reports move") {
  SUBCASE("no control listener: both on the main port") {
    Fixture f(/*inline_mode=*/false, "");
    const std::string id = Reserve(f.port());
    CHECK(RoundTrip(f.port(), Usage(Report(id, 1, 1))).status == 204);
  }
  SUBCASE("a control listener: usage reports there only") {
    Fixture f(/*inline_mode=*/false, "127.0.0.1:0");
    const std::string id = Reserve(f.port());
    RawResponse main = RoundTrip(f.port(), Usage(Report(id, 0, 0)));
    CHECK(main.status == 404);
    CHECK(main.header("content-type") == "application/problem+json");
    CHECK(RoundTrip(f.control(), Usage(Report(id, 1, 1))).status == 204);
    // The check works on both.
    Reserve(f.control());
  }
}

TEST_CASE("control token: a usage report without the token, or with a wrong one, is 401 and changes nothing") {
  Fixture f(/*inline_mode=*/false, "127.0.0.1:0", engine::Sha256Hex(kToken));
  const std::string id = Reserve(f.port());
  for (const std::string& token : {std::string(), std::string("ctl-secret-2"), std::string("ctl-secret-1x"),
                                   engine::Sha256Hex(kToken)}) {
    INFO("token '" << token << "'");
    std::vector<std::pair<std::string, std::string>> h;
    if (!token.empty()) h.emplace_back("X-Tos-Control-Token", token);
    RawResponse r = RoundTrip(f.control(), Usage(Report(id, 0, 0), h));
    CHECK(r.status == 401);
    CHECK(r.body.find("unauthorized") != std::string::npos);
  }
  // Nothing was reconciled: the reservation still holds 9000 of 10000.
  CHECK(RoundTrip(f.port(), HttpRequest("POST", "/v1/check",
                                        {{"X-Original-Method", "POST"},
                                         {"X-Original-URI", "/v1/chat/completions"},
                                         {"Authorization", "Bearer sk-1"},
                                         {"Content-Type", "application/json"}},
                                        R"({"model":"m","max_tokens":2000})"))
            .status == 429);
  CHECK(RoundTrip(f.control(), Usage(Report(id, 1, 1), {{"X-Tos-Control-Token", kToken}})).status == 204);
}

TEST_CASE("control token: the server refuses to start with one that is not a SHA-256") {
  FakeClock clock{1};
  std::unique_ptr<engine::StateStore> state = engine::NewMemoryStateStore();
  engine::Engine engine{engine::EngineOptions{&clock, state.get(), nullptr, nullptr}};
  GatewayServerOptions o;
  o.listen = "127.0.0.1:0";
  o.threads = 1;
  o.control_token_sha256 = "ctl-secret-1";  // the token itself, not its hash
  auto s = GatewayServer::Start(std::move(o), engine);
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().message().find("control_token_sha256") != std::string::npos);
}

TEST_CASE("control token: matched on its SHA-256, whole") {
  const std::string h = engine::Sha256Hex(kToken);
  CHECK(ControlTokenMatches(kToken, h));
  CHECK_FALSE(ControlTokenMatches("ctl-secret-", h));
  CHECK_FALSE(ControlTokenMatches("", h));
  CHECK_FALSE(ControlTokenMatches(h, h));  // the hash is not the token
  CHECK_FALSE(ControlTokenMatches(kToken, h.substr(0, 63)));
  CHECK(IsSha256Hex(h));
  CHECK_FALSE(IsSha256Hex(h.substr(1)));
  CHECK_FALSE(IsSha256Hex(std::string(64, 'g')));
}

TEST_CASE("usage reports: counts past the bound, fractional or overflowing are refused; so is a long id") {
  std::string id;
  engine::Usage u;
  CHECK(ParseUsageReport(R"({"decision_id":"d","input_tokens":1000000000,"output_tokens":1000000000})", &id, &u).ok());
  CHECK(u.input_tokens + u.output_tokens == 2'000'000'000);
  CHECK(ParseUsageReport(R"({"decision_id":"d","input_tokens":1000000001})", &id, &u).message() ==
        "input_tokens must be at most 1000000000");
  CHECK(ParseUsageReport(R"({"decision_id":"d","output_tokens":9223372036854775807})", &id, &u).message() ==
        "output_tokens must be at most 1000000000");
  // Past INT64_MAX: read as unsigned, never wrapped to a negative refund.
  CHECK(ParseUsageReport(R"({"decision_id":"d","output_tokens":18446744073709551615})", &id, &u).message() ==
        "output_tokens must be at most 1000000000");
  CHECK(ParseUsageReport(R"({"decision_id":"d","input_tokens":1.5})", &id, &u).message() ==
        "input_tokens must be a whole number >= 0");
  CHECK(ParseUsageReport(R"({"decision_id":"d","input_tokens":1e3})", &id, &u).message() ==
        "input_tokens must be a whole number >= 0");
  CHECK(ParseUsageReport(R"({"decision_id":"d","input_tokens":"5"})", &id, &u).message() ==
        "input_tokens must be a whole number >= 0");
  CHECK(ParseUsageReport(R"({"decision_id":")" + std::string(64, 'a') + R"("})", &id, &u).ok());
  CHECK(ParseUsageReport(R"({"decision_id":")" + std::string(65, 'a') + R"("})", &id, &u).message() ==
        "decision_id is longer than 64 characters");
  CHECK_FALSE(ParseUsageReport(std::string(kMaxUsageReportBytes + 1, ' '), &id, &u).ok());
}

TEST_CASE("usage reports: a huge count over HTTP is a 400 and the reservation stays") {
  Fixture f(/*inline_mode=*/false, "");
  const std::string id = Reserve(f.port());
  RawResponse r = RoundTrip(f.port(), Usage(Report(id, 0, 0).replace(
                                          Report(id, 0, 0).find("\"output_tokens\":0"), 17,
                                          "\"output_tokens\":4611686018427387904")));
  CHECK(r.status == 400);
  CHECK(r.body.find("bad-usage-report") != std::string::npos);
  CHECK(RoundTrip(f.port(), Usage(Report(id, 1, 1))).status == 204);  // still held
}

TEST_CASE("usage reports: a body over 4 KiB is a 413 before it is read") {
  Fixture f(/*inline_mode=*/false, "");
  const std::string big = R"({"decision_id":"d","pad":")" + std::string(kMaxUsageReportBytes, 'x') + "\"}";
  SUBCASE("declared length") {
    RawResponse r = RoundTrip(f.port(), Usage(big));
    CHECK(r.status == 413);
    CHECK(r.body.find("larger than 4096 bytes") != std::string::npos);
  }
  SUBCASE("chunked") {
    RawClient c(f.port());
    REQUIRE(c.connected());
    std::string req = "POST /v1/usage HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
    char size[16];
    std::snprintf(size, sizeof size, "%zx\r\n", big.size());
    req += size + big + "\r\n0\r\n\r\n";
    RawResponse r;
    REQUIRE(c.RoundTrip(req, &r));
    CHECK(r.status == 413);
  }
  // The ordinary body limit still applies elsewhere.
  CHECK(RoundTrip(f.port(), HttpRequest("POST", "/v1/check/v1/chat/completions",
                                        {{"Content-Type", "application/json"}}, big))
            .status != 413);
}

TEST_CASE("usage reports: how the engine's refusals are answered") {
  CHECK(MapUsageStatus(Status::NotFound("x")).status == 404);
  CHECK(MapUsageStatus(Status::NotFound("x")).type == "unknown-decision");
  CHECK(MapUsageStatus(Status::InvalidArgument("x")).status == 400);
  CHECK(MapUsageStatus(Status::Unavailable("x")).status == 503);
  CHECK(MapUsageStatus(Status::Unavailable("x")).type == "usage-failed");
  // Any other refusal: the engine will not take this report (the gateway
  // relayed the request itself).
  CHECK(MapUsageStatus(Status::AlreadyExists("x")).status == 409);
  CHECK(MapUsageStatus(Status::AlreadyExists("x")).type == "usage-observed-by-gateway");
}

// The attack: a client reads its own X-Tos-Decision-Id while its stream
// runs and reports zero usage, refunding its reservation. On the client port
// that is a 404 (above); on the control port the engine refuses it, for the
// gateway measures what it relays itself (Engine::ReportUsage).
TEST_CASE("usage reports: a decision the inline proxy is relaying cannot be reconciled from outside") {
  Fixture f(/*inline_mode=*/true, "127.0.0.1:0");
  f.upstream->Hold();
  RawClient c(f.port());
  REQUIRE(c.connected());
  REQUIRE(c.Send(HttpRequest("POST", "/v1/chat/completions",
                             {{"Authorization", "Bearer sk-1"}, {"Content-Type", "application/json"}},
                             R"({"model":"m","max_tokens":9000})")));
  // The answer's header is here; its body is not.
  std::string head;
  char buf[1024];
  while (head.find("\r\n\r\n") == std::string::npos) {
    const ssize_t n = ::recv(c.fd(), buf, sizeof buf, 0);
    REQUIRE(n > 0);
    head.append(buf, static_cast<size_t>(n));
  }
  const size_t at = head.find("X-Tos-Decision-Id: ");
  REQUIRE(at != std::string::npos);
  const std::string id = head.substr(at + 19, head.find("\r\n", at) - at - 19);
  RawResponse r = RoundTrip(f.control(), Usage(Report(id, 0, 0)));
  CHECK(r.status == 409);
  CHECK(r.body.find("usage-observed-by-gateway") != std::string::npos);
  f.upstream->Release();
}

}  // namespace
}  // namespace tosgate::api
