// Every GatewayServerStats counter on /metrics (server/process_metrics.h),
// each with its value after the event that bumps it; and durable_audit,
// which must be the engine's own sink.
#include <doctest/doctest.h>

#include <chrono>
#include <stdexcept>
#include <thread>

#include "api/gateway/gateway_server.h"
#include "tools/mock_upstream/mock_upstream.h"
#include "metrics/registry.h"
#include "policies/loader.h"
#include "server/process_metrics.h"
#include "tests/api/raw_client.h"
#include "tests/server/metrics_text.h"
#include "tosgate/clock.h"

namespace tosgate::test {
namespace {

constexpr char kPolicy[] = R"(apiVersion: tosgate/v1
kind: Policy
metadata: {name: m}
operations:
  chat: {methods: [POST], paths: [/v1/chat/completions]}
  audio: {methods: [POST], paths: [/v1/audio]}
rules:
  - id: smooth
    kind: rate_limit
    match: {operations: [audio]}
    limit: {requests: 20, per: 1s}
    action: {delay: {max: 1s}}
)";

// A gateway (forward-auth, or inline in front of the mock upstream) whose
// stats are registered as serve registers them.
struct Gateway {
  FakeClock clock{1'767'225'600'000};
  std::unique_ptr<engine::StateStore> state = engine::NewMemoryStateStore();
  std::unique_ptr<engine::Engine> engine;
  std::unique_ptr<api::MockUpstream> mock;
  std::unique_ptr<api::GatewayServer> server;
  metrics::Registry registry;

  explicit Gateway(bool inline_mode, engine::AuditSink* durable = nullptr) {
    engine = std::make_unique<engine::Engine>(engine::EngineOptions{&clock, state.get(), durable, nullptr});
    policies::LoadResult r = policies::LoadPolicyFiles({{"m.yaml", kPolicy}});
    REQUIRE_MESSAGE(r.errors.empty(), r.errors[0].ToString());
    engine->Publish(r.snapshot);
    api::GatewayServerOptions o;
    o.listen = "127.0.0.1:0";
    o.threads = 2;
    o.durable_audit = durable;
    if (inline_mode) {
      api::MockUpstreamOptions mo;
      mo.listen = "127.0.0.1:0";
      auto m = api::MockUpstream::Start(mo);
      REQUIRE_MESSAGE(m.ok(), m.status().ToString());
      mock = std::move(m).value();
      o.upstream_url = "http://127.0.0.1:" + std::to_string(mock->port());
    }
    auto s = api::GatewayServer::Start(std::move(o), *engine);
    REQUIRE_MESSAGE(s.ok(), s.status().ToString());
    server = std::move(s).value();
    server::RegisterGatewayMetrics(server.get(), &registry);
    REQUIRE(registry.status().ok());
  }
  std::optional<uint64_t> Value(const std::string& name) const { return MetricValue(registry.Render(), name); }
  RawResponse RoundTrip(const std::string& request) const {
    RawClient c(server->port());
    RawResponse r;
    REQUIRE(c.RoundTrip(request, &r));
    return r;
  }
};

std::string Check(const std::string& path, const std::string& body = "{\"model\":\"m\"}") {
  return HttpRequest("POST", "/v1/check",
                     {{"X-Original-Method", "POST"}, {"X-Original-URI", path},
                      {"Authorization", "Bearer sk-1"}, {"Content-Type", "application/json"}},
                     body);
}

std::string Chat(std::vector<std::pair<std::string, std::string>> extra = {}) {
  std::vector<std::pair<std::string, std::string>> h = {{"Authorization", "Bearer sk-1"},
                                                        {"Content-Type", "application/json"}};
  for (auto& e : extra) h.push_back(std::move(e));
  return HttpRequest("POST", "/v1/chat/completions", h, "{\"model\":\"m\"}");
}

TEST_CASE("gateway metrics: requests, checks, connections, bad requests and delayed answers") {
  Gateway g(/*inline_mode=*/false);
  for (const char* name : {"tosgate_gateway_requests_total", "tosgate_gateway_checks_total",
                           "tosgate_gateway_connections_total", "tosgate_gateway_bad_requests_total",
                           "tosgate_gateway_delayed_total", "tosgate_gateway_internal_errors_total",
                           "tosgate_gateway_proxied_total", "tosgate_gateway_client_aborts_total",
                           "tosgate_gateway_open_streams", "tosgate_gateway_open_connections",
                           "tosgate_gateway_refused_connections_total", "tosgate_gateway_read_timeouts_total",
                           "tosgate_upstream_errors_total"})
    CHECK_MESSAGE(g.Value(name) == 0, name);

  CHECK(g.RoundTrip(Check("/v1/chat/completions")).status == 200);
  CHECK(g.Value("tosgate_gateway_requests_total") == 1);
  CHECK(g.Value("tosgate_gateway_checks_total") == 1);
  CHECK(g.Value("tosgate_gateway_connections_total") == 1);

  // A JSON body that is not JSON: refused before a decision (unreadable_body: refuse).
  CHECK(g.RoundTrip(Check("/v1/chat/completions", "{\"model\":")).status == 400);
  CHECK(g.Value("tosgate_gateway_bad_requests_total") == 1);
  CHECK(g.Value("tosgate_gateway_requests_total") == 2);
  CHECK(g.Value("tosgate_gateway_checks_total") == 1);
  CHECK(g.Value("tosgate_gateway_connections_total") == 2);

  // 20 a second, no burst, the clock frozen: the second is held 50ms.
  CHECK(g.RoundTrip(Check("/v1/audio")).status == 200);
  CHECK(g.Value("tosgate_gateway_delayed_total") == 0);
  CHECK(g.RoundTrip(Check("/v1/audio")).status == 200);
  CHECK(g.Value("tosgate_gateway_delayed_total") == 1);
  CHECK(g.Value("tosgate_gateway_checks_total") == 3);
}

// A sink whose SubmitThen throws: the exception reaches the gateway's
// request boundary, which answers 500 and counts it.
class ThrowingSink final : public engine::AuditSink {
 public:
  Status Submit(engine::AuditRecord) override { return Status::Ok(); }
  void SubmitThen(engine::AuditRecord, std::function<void(Status)>) override {
    throw std::runtime_error("sink broke");
  }
};

TEST_CASE("gateway metrics: an exception at the request boundary is an internal error") {
  ThrowingSink sink;
  Gateway g(/*inline_mode=*/false, &sink);
  CHECK(g.RoundTrip(Check("/v1/chat/completions")).status == 500);
  CHECK(g.Value("tosgate_gateway_internal_errors_total") == 1);
}

TEST_CASE("gateway metrics: inline relays, open streams, client aborts and upstream errors") {
  Gateway g(/*inline_mode=*/true);
  CHECK(g.RoundTrip(Chat()).status == 200);
  REQUIRE(WaitUntil([&] { return g.server->stats().open_streams == 0; }));
  CHECK(g.Value("tosgate_gateway_proxied_total") == 1);
  CHECK(g.Value("tosgate_gateway_checks_total") == 1);  // every decision the gateway made

  CHECK(g.RoundTrip(Chat({{"x-mock-malformed", "1"}})).status == 502);
  CHECK(g.Value("tosgate_upstream_errors_total") == 1);
  // The 502's stream ends after its last byte is written, which can be after
  // the client has read it: without this wait the hanging request below
  // could see that stream as its own and close before it was relayed.
  REQUIRE(WaitUntil([&] { return g.server->stats().open_streams == 0; }));

  {
    RawClient c(g.server->port());
    REQUIRE(c.Send(Chat({{"x-mock-hang", "1"}})));
    REQUIRE(WaitUntil([&] {
      const auto s = g.server->stats();
      return s.proxied == 3 && s.open_streams == 1;
    }));
    CHECK(g.Value("tosgate_gateway_open_streams") == 1);
  }  // the client goes away mid-relay
  REQUIRE(WaitUntil([&] { return g.server->stats().open_streams == 0; }));
  CHECK(g.Value("tosgate_gateway_open_streams") == 0);
  CHECK(g.Value("tosgate_gateway_client_aborts_total") == 1);
  CHECK(g.Value("tosgate_gateway_proxied_total") == 3);
}

TEST_CASE("gateway: durable_audit must be the sink the engine records into") {
  FakeClock clock;
  auto state = engine::NewMemoryStateStore();
  ThrowingSink engine_sink, other;
  engine::Engine e(engine::EngineOptions{&clock, state.get(), &engine_sink, nullptr});
  api::GatewayServerOptions o;
  o.listen = "127.0.0.1:0";
  o.durable_audit = &other;
  auto refused = api::GatewayServer::Start(o, e);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == Status::Code::kInvalidArgument);
  CHECK(refused.status().message().find("durable_audit") != std::string::npos);
  o.durable_audit = &engine_sink;
  CHECK(api::GatewayServer::Start(o, e).ok());
}

}  // namespace
}  // namespace tosgate::test
