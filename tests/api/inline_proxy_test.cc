// The inline proxy against the mock upstream, both in process on loopback:
// relaying, streaming, usage reconciliation, refusals, upstream failures,
// client disconnects, and many concurrent streams on two threads; and
// against a recording upstream: what it receives is what was decided.
#include <doctest/doctest.h>

#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <vector>

#include "api/gateway/gateway_server.h"
#include "api/request/usage_scanner.h"
#include "tools/mock_upstream/mock_upstream.h"
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
metadata: {name: inline}
operations:
  chat: {methods: [POST], paths: [/v1/chat/completions, /v1/messages]}
  completions: {methods: [POST], paths: [/v1/completions]}
rules:
  - id: purpose
    kind: attribute
    when: {field: request.purpose, eq: model-training}
    action: deny
  - id: budget
    kind: token_budget
    match: {operations: [chat]}
    limit: {tokens: 1000, per: 1m}
    default_max_tokens: 16
)";

struct Fixture {
  FakeClock clock{1'767'225'600'000};
  std::unique_ptr<engine::StateStore> state = engine::NewMemoryStateStore();
  engine::Engine engine{engine::EngineOptions{&clock, state.get(), nullptr, nullptr}};
  std::unique_ptr<MockUpstream> mock;
  std::unique_ptr<GatewayServer> server;

  explicit Fixture(std::chrono::milliseconds response_timeout = std::chrono::seconds(10),
                   bool start_mock = true) {
    policies::LoadResult r = policies::LoadPolicyFiles({{"inline.yaml", kPolicy}});
    REQUIRE_MESSAGE(r.errors.empty(), r.errors[0].ToString());
    engine.Publish(r.snapshot);
    int upstream_port = 1;  // nothing listens there
    if (start_mock) {
      MockUpstreamOptions mo;
      mo.listen = "127.0.0.1:0";
      auto m = MockUpstream::Start(mo);
      REQUIRE_MESSAGE(m.ok(), m.status().ToString());
      mock = std::move(m).value();
      upstream_port = mock->port();
    }
    GatewayServerOptions o;
    o.listen = "127.0.0.1:0";
    o.threads = 2;
    o.upstream_url = "http://127.0.0.1:" + std::to_string(upstream_port);
    o.upstream_response_timeout = response_timeout;
    auto s = GatewayServer::Start(std::move(o), engine);
    REQUIRE_MESSAGE(s.ok(), s.status().ToString());
    server = std::move(s).value();
  }
  int port() const { return server->port(); }

  // Waits (bounded) for the server to finish what it is relaying.
  bool Idle() {
    return test::WaitUntil([&] { return server->stats().open_streams == 0; });
  }
};

std::string Chat(const std::string& body, std::vector<std::pair<std::string, std::string>> extra = {},
                 const std::string& path = "/v1/chat/completions") {
  std::vector<std::pair<std::string, std::string>> h = {{"Authorization", "Bearer sk-1"},
                                                        {"Content-Type", "application/json"}};
  for (auto& e : extra) h.push_back(std::move(e));
  return HttpRequest("POST", path, h, body);
}

RawResponse RoundTrip(int port, const std::string& request) {
  RawClient c(port);
  RawResponse r;
  REQUIRE(c.RoundTrip(request, &r));
  return r;
}

TEST_CASE("usage scanner: JSON bodies and every streamed shape") {
  UsageScanner json("application/json");
  json.Feed(R"({"usage":{"prompt_tokens":12,)");
  json.Feed(R"("completion_tokens":30}})");
  engine::Usage u = json.Finish();
  CHECK(u.input_tokens == 12);
  CHECK(u.output_tokens == 30);

  UsageScanner openai("text/event-stream; charset=utf-8");
  openai.Feed("data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\ndata: {\"choices\":[],\"usa");
  openai.Feed("ge\":{\"prompt_tokens\":5,\"completion_tokens\":7}}\n\ndata: [DONE]\n\n");
  u = openai.Finish();
  CHECK(u.input_tokens == 5);
  CHECK(u.output_tokens == 7);

  UsageScanner anthropic("text/event-stream");
  anthropic.Feed("event: message_start\r\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":"
                 "{\"input_tokens\":9,\"output_tokens\":1}}}\r\n\r\n");
  anthropic.Feed("event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":44}}\n\n");
  u = anthropic.Finish();
  CHECK(u.input_tokens == 9);
  CHECK(u.output_tokens == 44);

  UsageScanner responses("text/event-stream");
  responses.Feed("data: {\"type\":\"response.completed\",\"response\":{\"usage\":{\"input_tokens\":3,\"output_tokens\":4}}}\n");
  CHECK(responses.Finish().output_tokens == 4);

  UsageScanner bounded("application/json", 16);
  bounded.Feed(R"({"usage":{"prompt_tokens":12,"completion_tokens":30}})");
  CHECK(bounded.Finish().input_tokens == -1);  // past the bound: not parsed
  UsageScanner other("text/plain");
  other.Feed(R"({"usage":{"prompt_tokens":12}})");
  CHECK(other.Finish().input_tokens == -1);
}

TEST_CASE("inline proxy: an allowed request is relayed and its usage reconciles the budget") {
  Fixture f;
  // 900 output tokens reserved of 1000; the mock uses 16 at most.
  RawResponse r = RoundTrip(f.port(), Chat(R"({"model":"m","max_tokens":900,"messages":[]})"));
  CHECK(r.status == 200);
  CHECK(r.body.find("\"usage\"") != std::string::npos);
  CHECK(!r.header("x-tos-decision-id").empty());
  CHECK(r.header("ratelimit-policy") == "\"budget\";q=1000;w=60;qu=\"tokens\"");
  REQUIRE(f.Idle());
  // Reconciled to what the mock reported, so another 900 fits.
  CHECK(RoundTrip(f.port(), Chat(R"({"model":"m","max_tokens":900,"messages":[]})")).status == 200);
  CHECK(f.mock->requests() == 2);
}

TEST_CASE("inline proxy: streamed answers pass through and their final usage reconciles") {
  Fixture f;
  RawResponse openai = RoundTrip(
      f.port(), Chat(R"({"model":"m","max_tokens":900,"stream":true,"stream_options":{"include_usage":true}})"));
  CHECK(openai.status == 200);
  CHECK(openai.header("content-type") == "text/event-stream");
  CHECK(openai.body.find("data: [DONE]") != std::string::npos);
  REQUIRE(f.Idle());
  RawResponse anthropic =
      RoundTrip(f.port(), Chat(R"({"model":"m","max_tokens":900,"stream":true})", {}, "/v1/messages"));
  CHECK(anthropic.status == 200);
  CHECK(anthropic.body.find("message_delta") != std::string::npos);
  REQUIRE(f.Idle());
  CHECK(RoundTrip(f.port(), Chat(R"({"model":"m","max_tokens":900})")).status == 200);
}

TEST_CASE("inline proxy: a refused request never reaches the upstream") {
  Fixture f;
  RawResponse r = RoundTrip(f.port(), Chat(R"({"model":"m"})", {{"X-Usage-Purpose", "model-training"}}));
  CHECK(r.status == 403);
  CHECK(r.header("content-type") == "application/problem+json");
  RawResponse t = RoundTrip(f.port(), Chat(R"({"model":"m","max_tokens":5000})"));
  CHECK(t.status == 429);
  CHECK(f.mock->requests() == 0);
}

TEST_CASE("inline proxy: a client cannot name another path or address for itself") {
  Fixture f;
  // The policy denies by purpose; X-Original-URI must not move the request
  // out of the chat operation, and the upstream sees tosgate's own X-Forwarded-For.
  RawResponse r = RoundTrip(
      f.port(), Chat(R"({"model":"m","max_tokens":5000})", {{"X-Original-URI", "/v1/other"},
                                                           {"X-Forwarded-For", "198.51.100.1"}}));
  CHECK(r.status == 429);
}

TEST_CASE("inline proxy: upstream failures become 502 / 504 problems and the server keeps serving") {
  SUBCASE("refused connection") {
    Fixture f(std::chrono::seconds(10), /*start_mock=*/false);
    RawResponse r = RoundTrip(f.port(), Chat(R"({"model":"m"})"));
    CHECK(r.status == 502);
    CHECK(r.body.find("upstream-unreachable") != std::string::npos);
  }
  SUBCASE("reset, malformed, hang") {
    Fixture f(std::chrono::milliseconds(200));
    CHECK(RoundTrip(f.port(), Chat(R"({"model":"m"})", {{"x-mock-reset", "1"}})).status == 502);
    CHECK(RoundTrip(f.port(), Chat(R"({"model":"m"})", {{"x-mock-malformed", "1"}})).status == 502);
    RawResponse hang = RoundTrip(f.port(), Chat(R"({"model":"m"})", {{"x-mock-hang", "1"}}));
    CHECK_MESSAGE(hang.status == 504, hang.body);
    CHECK(hang.body.find("upstream-timeout") != std::string::npos);
    CHECK(RoundTrip(f.port(), Chat(R"({"model":"m"})")).status == 200);
    CHECK(f.server->stats().upstream_errors == 3);
  }
}

TEST_CASE("inline proxy: a client that disconnects cancels the upstream request") {
  Fixture f;
  {
    RawClient c(f.port());
    REQUIRE(c.connected());
    REQUIRE(c.Send(Chat(R"({"model":"m"})", {{"x-mock-hang", "1"}})));
    REQUIRE(test::WaitUntil([&] { return f.mock->requests() > 0; }));
  }  // closes the connection
  REQUIRE(f.Idle());
  CHECK(f.server->stats().client_aborts == 1);
}

TEST_CASE("inline proxy: a thousand concurrent streams on two threads") {
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = std::max<rlim_t>(lim.rlim_cur, std::min<rlim_t>(lim.rlim_max, 8192));
  setrlimit(RLIMIT_NOFILE, &lim);
  const int kStreams = lim.rlim_cur >= 4000 ? 1000 : 200;
  Fixture f;
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < kStreams; ++i) {
    clients.push_back(std::make_unique<RawClient>(f.port()));
    REQUIRE(clients.back()->connected());
    REQUIRE(clients.back()->Send(
        Chat(R"({"model":"m","max_tokens":0,"stream":true})", {{"x-mock-latency-ms", "4000"}},
             "/v1/completions")));
  }
  // All are open at once while the mock holds its answers.
  uint64_t most = 0;
  (void)test::WaitUntil([&] {
    most = std::max(most, f.server->stats().open_streams);
    return most >= uint64_t(kStreams);
  });
  CHECK(most == uint64_t(kStreams));
  int ok = 0;
  for (auto& c : clients) {
    RawResponse r;
    if (c->Read(&r) && r.status == 200 && r.body.find("[DONE]") != std::string::npos) ++ok;
  }
  CHECK(ok == kStreams);
}

// A gateway in front of a recording upstream, with a policy that names a
// trusted identity header. `trusted`: whether loopback peers (the tests'
// clients) count as trusted proxies.
constexpr char kRelayPolicy[] = R"(apiVersion: tosgate/v1
kind: Policy
metadata: {name: relay}
identity:
  trusted_headers: {account: x-account-id, org: x-org-id}
operations:
  chat: {methods: [POST], paths: [/v1/chat/completions]}
rules:
  - id: purpose
    kind: attribute
    when: {field: request.purpose, eq: model-training}
    action: deny
)";

struct RelayFixture {
  FakeClock clock{1'767'225'600'000};
  std::unique_ptr<engine::StateStore> state = engine::NewMemoryStateStore();
  engine::Engine engine{engine::EngineOptions{&clock, state.get(), nullptr, nullptr}};
  test::RecordingUpstream upstream;  // declared before the server: outlives its pool
  std::unique_ptr<GatewayServer> server;

  explicit RelayFixture(bool trusted, std::string control_listen = "") {
    policies::LoadResult r = policies::LoadPolicyFiles({{"relay.yaml", kRelayPolicy}});
    REQUIRE_MESSAGE(r.errors.empty(), r.errors[0].ToString());
    engine.Publish(r.snapshot);
    GatewayServerOptions o;
    o.listen = "127.0.0.1:0";
    o.threads = 1;
    o.upstream_url = upstream.url();
    o.control_listen = std::move(control_listen);
    if (!trusted) o.forward_auth.trusted_proxies.clear();
    auto s = GatewayServer::Start(std::move(o), engine);
    REQUIRE_MESSAGE(s.ok(), s.status().ToString());
    server = std::move(s).value();
  }
  int port() const { return server->port(); }
};

TEST_CASE("inline proxy: the upstream receives the canonical target, the decided body and only the checked credential") {
  RelayFixture f(/*trusted=*/false);
  const std::string body = R"({"model":"m","messages":[{"role":"user","content":"hi"}]})";
  // The same key in three carriers (one credential, so not ambiguous), and
  // a proxy credential that is nobody's business upstream.
  RawResponse r = RoundTrip(
      f.port(), HttpRequest("POST", "/v1//%63hat/completions?trace=1",
                            {{"Authorization", "Bearer sk-1"}, {"x-api-key", "sk-1"},
                             {"x-goog-api-key", "sk-1"}, {"Proxy-Authorization", "Basic Zm9vOmJhcg=="},
                             {"Content-Type", "application/json"}},
                            body));
  REQUIRE_MESSAGE(r.status == 200, r.body);
  const std::vector<test::Received> got = f.upstream.received();
  REQUIRE(got.size() == 1);
  CHECK(got[0].method == "POST");
  CHECK(got[0].target == "/v1/chat/completions?trace=1");
  CHECK(got[0].body == body);
  CHECK(got[0].all("authorization") == std::vector<std::string>{"Bearer sk-1"});
  CHECK_FALSE(got[0].has("x-api-key"));
  CHECK_FALSE(got[0].has("x-goog-api-key"));
  CHECK_FALSE(got[0].has("proxy-authorization"));
  CHECK(got[0].header("content-length") == std::to_string(body.size()));
  // Which decision let it in, the same one the client was told.
  CHECK(!got[0].header("x-tos-decision-id").empty());
  CHECK(got[0].header("x-tos-decision-id") == r.header("x-tos-decision-id"));
}

TEST_CASE("inline proxy: an x-api-key credential is relayed in x-api-key, not turned into a Bearer") {
  RelayFixture f(/*trusted=*/false);
  RawResponse r = RoundTrip(f.port(), HttpRequest("POST", "/v1/chat/completions",
                                                  {{"x-api-key", "sk-ant-1"}, {"Content-Type", "application/json"}},
                                                  R"({"model":"m"})"));
  REQUIRE_MESSAGE(r.status == 200, r.body);
  const std::vector<test::Received> got = f.upstream.received();
  REQUIRE(got.size() == 1);
  CHECK(got[0].all("x-api-key") == std::vector<std::string>{"sk-ant-1"});
  CHECK_FALSE(got[0].has("authorization"));
}

TEST_CASE("inline proxy: an untrusted client's forwarding, identity and X-Tos headers never reach the upstream") {
  RelayFixture f(/*trusted=*/false);
  RawResponse r = RoundTrip(
      f.port(), Chat(R"({"model":"m"})", {{"X-Forwarded-For", "198.51.100.1"},
                                          {"X-Forwarded-Host", "evil.example"},
                                          {"X-Forwarded-Proto", "https"},
                                          {"X-Real-IP", "198.51.100.2"},
                                          {"Forwarded", "for=198.51.100.3"},
                                          {"X-Original-URI", "/v1/other"},
                                          {"X-Account-Id", "acme"},
                                          {"X-Org-Id", "acme-org"},
                                          {"X-Tos-Watermark", "forged"},
                                          {"X-Custom", "kept"}}));
  REQUIRE_MESSAGE(r.status == 200, r.body);
  const std::vector<test::Received> got = f.upstream.received();
  REQUIRE(got.size() == 1);
  CHECK(got[0].all("x-forwarded-for") == std::vector<std::string>{"127.0.0.1"});
  CHECK(got[0].all("x-forwarded-proto") == std::vector<std::string>{"http"});
  for (const char* h : {"x-forwarded-host", "x-real-ip", "forwarded", "x-original-uri", "x-account-id",
                        "x-org-id", "x-tos-watermark"}) {
    INFO(h);
    CHECK_FALSE(got[0].has(h));
  }
  CHECK(got[0].header("x-custom") == "kept");
  CHECK(got[0].target == "/v1/chat/completions");
}

TEST_CASE("inline proxy: a trusted proxy's X-Forwarded-For is extended with its address, its identity headers kept") {
  RelayFixture f(/*trusted=*/true);
  RawResponse r = RoundTrip(
      f.port(), Chat(R"({"model":"m"})", {{"X-Forwarded-For", "198.51.100.1"}, {"X-Account-Id", "acme"}}));
  REQUIRE_MESSAGE(r.status == 200, r.body);
  const std::vector<test::Received> got = f.upstream.received();
  REQUIRE(got.size() == 1);
  CHECK(got[0].all("x-forwarded-for") == std::vector<std::string>{"198.51.100.1, 127.0.0.1"});
  CHECK(got[0].header("x-account-id") == "acme");
}

TEST_CASE("inline proxy: checks and usage reports on the client port answer 404 and reach no upstream") {
  RelayFixture f(/*trusted=*/true, "127.0.0.1:0");
  const std::vector<std::string> requests = {
      HttpRequest("POST", "/v1/usage", {{"Content-Type", "application/json"}}, R"({"decision_id":"d"})"),
      HttpRequest("POST", "/v1//usage", {{"Content-Type", "application/json"}}, R"({"decision_id":"d"})"),
      HttpRequest("POST", "/v1/%75sage", {{"Content-Type", "application/json"}}, R"({"decision_id":"d"})"),
      HttpRequest("GET", "/v1/check"),
      HttpRequest("POST", "/v1/check/v1/chat/completions",
                  {{"Authorization", "Bearer sk-1"}, {"Content-Type", "application/json"}}, R"({"model":"m"})"),
      HttpRequest("GET", "/v1/check", {{"X-Original-Method", "POST"}, {"X-Original-URI", "/v1/chat/completions"},
                                       {"Authorization", "Bearer sk-1"}}),
  };
  for (const std::string& req : requests) {
    INFO(req.substr(0, req.find('\r')));
    RawResponse r = RoundTrip(f.port(), req);
    CHECK(r.status == 404);
    CHECK(r.header("content-type") == "application/problem+json");
    CHECK(r.body.find("not-found") != std::string::npos);
    CHECK_FALSE(r.has("x-tos-decision-id"));  // nothing was decided either
  }
  CHECK(f.upstream.count() == 0);
  CHECK(RoundTrip(f.port(), HttpRequest("GET", "/healthz")).status == 200);
  CHECK(RoundTrip(f.server->control_port(), HttpRequest("GET", "/healthz")).status == 200);
}

}  // namespace
}  // namespace tosgate::api
