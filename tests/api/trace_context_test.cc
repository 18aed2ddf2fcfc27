// W3C trace context through the inline proxy: the upstream receives the
// caller's traceparent and tracestate unchanged, and the decision's audit
// record carries them, so the decision can be found from the trace id.
#include <doctest/doctest.h>

#include <mutex>

#include "api/gateway/gateway_server.h"
#include "engine/audit_sink.h"
#include "engine/engine.h"
#include "policies/loader.h"
#include "tests/api/raw_client.h"
#include "tests/api/recording_upstream.h"
#include "tosgate/clock.h"

namespace tosgate::api {
namespace {

constexpr char kParent[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

constexpr char kPolicy[] = R"(apiVersion: tosgate/v1
kind: Policy
metadata: {name: trace}
operations:
  chat: {methods: [POST], paths: [/v1/chat/completions]}
rules:
  - id: purpose
    kind: attribute
    when: {field: request.purpose, eq: model-training}
    action: deny
)";

class CapturingSink : public engine::AuditSink {
 public:
  Status Submit(engine::AuditRecord record) override {
    std::lock_guard<std::mutex> lock(mu_);
    records_.push_back(std::move(record));
    return Status::Ok();
  }
  std::vector<engine::AuditRecord> records() {
    std::lock_guard<std::mutex> lock(mu_);
    return records_;
  }

 private:
  std::mutex mu_;
  std::vector<engine::AuditRecord> records_;
};

TEST_CASE("inline proxy: traceparent and tracestate reach the upstream and the audit record") {
  FakeClock clock{1'767'225'600'000};
  std::unique_ptr<engine::StateStore> state = engine::NewMemoryStateStore();
  CapturingSink sink;
  engine::Engine engine{engine::EngineOptions{&clock, state.get(), &sink, nullptr}};
  test::RecordingUpstream upstream;
  policies::LoadResult r = policies::LoadPolicyFiles({{"trace.yaml", kPolicy}});
  REQUIRE_MESSAGE(r.errors.empty(), r.errors[0].ToString());
  engine.Publish(r.snapshot);
  GatewayServerOptions o;
  o.listen = "127.0.0.1:0";
  o.threads = 1;
  o.upstream_url = upstream.url();
  auto s = GatewayServer::Start(std::move(o), engine);
  REQUIRE_MESSAGE(s.ok(), s.status().ToString());

  test::RawClient c((*s)->port());
  test::RawResponse resp;
  REQUIRE(c.RoundTrip(test::HttpRequest("POST", "/v1/chat/completions",
                                        {{"Authorization", "Bearer sk-1"},
                                         {"Content-Type", "application/json"},
                                         {"traceparent", kParent},
                                         {"tracestate", "congo=t61rcWkgMzE"}},
                                        R"({"model":"m"})"),
                      &resp));
  REQUIRE_MESSAGE(resp.status == 200, resp.body);
  const std::vector<test::Received> got = upstream.received();
  REQUIRE(got.size() == 1);
  CHECK(got[0].all("traceparent") == std::vector<std::string>{kParent});
  CHECK(got[0].all("tracestate") == std::vector<std::string>{"congo=t61rcWkgMzE"});

  const std::vector<engine::AuditRecord> records = sink.records();
  REQUIRE(records.size() == 1);
  CHECK(records[0].id == resp.header("x-tos-decision-id"));
  CHECK(records[0].traceparent == kParent);
  CHECK(records[0].tracestate == "congo=t61rcWkgMzE");
  (*s)->Stop();
}

}  // namespace
}  // namespace tosgate::api
