// The data plane's side of rate limits: usage reports (POST /v1/usage) that
// reconcile token budgets and release concurrency leases, delay mode holding
// an answer, and a 64-way race for one budget over HTTP.
#include <doctest/doctest.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <chrono>
#include <thread>
#include <vector>

#include "api/gateway/gateway_server.h"
#include "api/request/usage_report.h"
#include "policies/loader.h"
#include "tests/api/raw_client.h"
#include "tosgate/clock.h"

namespace tosgate::api {
namespace {

using test::HttpRequest;
using test::RawClient;
using test::RawResponse;

constexpr char kPolicy[] = R"(apiVersion: tosgate/v1
kind: Policy
metadata: {name: limits}
operations:
  chat: {methods: [POST], paths: [/v1/chat/completions]}
  images: {methods: [POST], paths: [/v1/images]}
  audio: {methods: [POST], paths: [/v1/audio]}
rules:
  - id: budget
    kind: token_budget
    match: {operations: [chat]}
    limit: {tokens: 10000, per: 1m}
  - id: inflight
    kind: rate_limit
    match: {operations: [images]}
    limit: {concurrent: 1}
  - id: smooth
    kind: rate_limit
    match: {operations: [audio]}
    limit: {requests: 20, per: 1s}
    action: {delay: {max: 1s}}
)";

struct Fixture {
  FakeClock clock{1'767'225'600'000};
  std::unique_ptr<engine::StateStore> state = engine::NewMemoryStateStore();
  engine::Engine engine{engine::EngineOptions{&clock, state.get(), nullptr, nullptr}};
  std::unique_ptr<GatewayServer> server;
  Fixture() {
    policies::LoadResult r = policies::LoadPolicyFiles({{"limits.yaml", kPolicy}});
    REQUIRE_MESSAGE(r.errors.empty(), r.errors[0].ToString());
    engine.Publish(r.snapshot);
    GatewayServerOptions o;
    o.listen = "127.0.0.1:0";
    o.threads = 2;
    auto s = GatewayServer::Start(std::move(o), engine);
    REQUIRE_MESSAGE(s.ok(), s.status().ToString());
    server = std::move(s).value();
  }
};

std::string CheckRequest(const std::string& path, const std::string& body = "") {
  return HttpRequest("POST", "/v1/check",
                     {{"X-Original-Method", "POST"}, {"X-Original-URI", path},
                      {"Authorization", "Bearer sk-1"}, {"Content-Type", "application/json"}},
                     body);
}

std::string UsageRequest(const std::string& body) {
  return HttpRequest("POST", "/v1/usage", {{"Content-Type", "application/json"}}, body);
}

RawResponse RoundTrip(int port, const std::string& request) {
  RawClient c(port);
  RawResponse r;
  REQUIRE(c.RoundTrip(request, &r));
  return r;
}

TEST_CASE("usage report parsing: what is accepted and what is refused, with why") {
  std::string id;
  engine::Usage u;
  REQUIRE(ParseUsageReport(R"({"decision_id":"d1","input_tokens":5,"output_tokens":7})", &id, &u).ok());
  CHECK(id == "d1");
  CHECK(u.input_tokens == 5);
  CHECK(u.output_tokens == 7);
  REQUIRE(ParseUsageReport(R"({"decision_id":"d2"})", &id, &u).ok());
  CHECK(u.input_tokens == -1);
  CHECK(ParseUsageReport("{", &id, &u).message() == "the usage report is not valid JSON");
  CHECK(ParseUsageReport("[]", &id, &u).message() == "the usage report must be a JSON object");
  CHECK(ParseUsageReport("{}", &id, &u).message() == "decision_id is required");
  CHECK(ParseUsageReport(R"({"decision_id":"d","input_tokens":-1})", &id, &u).message() ==
        "input_tokens must be a whole number >= 0");
  CHECK(ParseUsageReport(R"({"decision_id":"d","cost":1})", &id, &u).message().find("unknown member") == 0);
}

TEST_CASE("gateway: POST /v1/usage reconciles a reservation and releases a lease") {
  Fixture f;
  const int port = f.server->port();
  // Reserve 9000 of 10000 tokens.
  RawResponse a = RoundTrip(port, CheckRequest("/v1/chat/completions", R"({"model":"m","max_tokens":9000})"));
  REQUIRE(a.status == 200);
  const std::string id = a.header("x-tos-decision-id");
  CHECK(RoundTrip(port, CheckRequest("/v1/chat/completions", R"({"model":"m","max_tokens":2000})")).status == 429);
  RawResponse u = RoundTrip(port, UsageRequest(R"({"decision_id":")" + id + R"(","input_tokens":10,"output_tokens":90})"));
  CHECK(u.status == 204);
  CHECK(RoundTrip(port, CheckRequest("/v1/chat/completions", R"({"model":"m","max_tokens":2000})")).status == 200);
  // A second report for the same decision, and a made-up one: 404 problem.
  RawResponse again = RoundTrip(port, UsageRequest(R"({"decision_id":")" + id + R"("})"));
  CHECK(again.status == 404);
  CHECK(again.header("content-type") == "application/problem+json");

  // One image at a time; completing it frees the place.
  RawResponse img = RoundTrip(port, CheckRequest("/v1/images"));
  REQUIRE(img.status == 200);
  CHECK(RoundTrip(port, CheckRequest("/v1/images")).status == 429);
  CHECK(RoundTrip(port, UsageRequest(R"({"decision_id":")" + img.header("x-tos-decision-id") + R"("})")).status == 204);
  CHECK(RoundTrip(port, CheckRequest("/v1/images")).status == 200);
}

TEST_CASE("gateway: a bad usage report is a 400 that names the problem; GET is 405") {
  Fixture f;
  RawResponse r = RoundTrip(f.server->port(), UsageRequest("{\"decision_id\": 5}"));
  CHECK(r.status == 400);
  CHECK(r.body.find("decision_id must be a non-empty string") != std::string::npos);
  RawResponse g = RoundTrip(f.server->port(), HttpRequest("GET", "/v1/usage"));
  CHECK(g.status == 405);
  CHECK(g.header("allow") == "POST");
}

TEST_CASE("gateway: delay mode holds the allowing answer for the delay the engine asked") {
  Fixture f;
  const int port = f.server->port();
  // 20 a second, no burst: the clock is frozen, so the 2nd request is due
  // 50ms after the first and the 3rd 100ms after.
  CHECK(RoundTrip(port, CheckRequest("/v1/audio")).status == 200);
  CHECK(RoundTrip(port, CheckRequest("/v1/audio")).status == 200);
  const auto start = std::chrono::steady_clock::now();
  RawResponse third = RoundTrip(port, CheckRequest("/v1/audio"));
  const auto held = std::chrono::steady_clock::now() - start;
  CHECK(third.status == 200);
  CHECK(held >= std::chrono::milliseconds(100));
  CHECK(f.server->stats().delayed == 2);
}

TEST_CASE("gateway: 64 concurrent checks at one budget never admit more than it") {
  Fixture f;
  const int port = f.server->port();
  std::atomic<int64_t> admitted_tokens{0};
  std::atomic<int> ok{0}, throttled{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 64; ++t)
    clients.emplace_back([&, t] {
      const int64_t tokens = 200 + 13 * t;
      RawClient c(port);
      RawResponse r;
      if (!c.RoundTrip(CheckRequest("/v1/chat/completions",
                                    R"({"model":"m","max_tokens":)" + std::to_string(tokens) + "}"),
                       &r))
        return;
      if (r.status == 200) admitted_tokens += tokens, ++ok;
      if (r.status == 429) ++throttled;
    });
  for (auto& c : clients) c.join();
  CHECK(ok + throttled == 64);
  CHECK(admitted_tokens.load() <= 10000);
  CHECK(throttled.load() > 0);
}

}  // namespace
}  // namespace tosgate::api

namespace tosgate::api {
namespace {

// A sink that keeps the callbacks, so the test decides when a record is durable.
struct ManualSink : engine::AuditSink {
  std::mutex mu;
  std::vector<std::function<void(Status)>> pending;
  Status Submit(engine::AuditRecord) override { return Status::Ok(); }
  void SubmitThen(engine::AuditRecord, std::function<void(Status)> done) override {
    std::lock_guard lock(mu);
    pending.push_back(std::move(done));
  }
  std::function<void(Status)> Next() {
    for (;;) {
      {
        std::lock_guard lock(mu);
        if (!pending.empty()) {
          auto f = std::move(pending.front());
          pending.erase(pending.begin());
          return f;
        }
      }
      std::this_thread::yield();
    }
  }
};

TEST_CASE("gateway: with synchronous durability the answer waits for the commit, and a refused record is a 503") {
  FakeClock clock{1'767'225'600'000};
  auto state = engine::NewMemoryStateStore();
  ManualSink sink;
  engine::Engine engine{engine::EngineOptions{&clock, state.get(), &sink, nullptr}};
  policies::LoadResult loaded = policies::LoadPolicyFiles({{"limits.yaml", kPolicy}});
  REQUIRE(loaded.errors.empty());
  engine.Publish(loaded.snapshot);
  GatewayServerOptions o;
  o.listen = "127.0.0.1:0";
  o.threads = 1;
  o.durable_audit = &sink;
  auto server = GatewayServer::Start(std::move(o), engine);
  REQUIRE(server.ok());

  RawClient c((*server)->port());
  REQUIRE(c.Send(CheckRequest("/v1/images")));
  auto commit = sink.Next();  // the record is in the sink; no answer yet
  char byte;
  CHECK(::recv(c.fd(), &byte, 1, MSG_PEEK | MSG_DONTWAIT) < 0);
  // Another connection on the same (only) thread is served meanwhile.
  RawClient other((*server)->port());
  REQUIRE(other.Send(CheckRequest("/v1/chat/completions", R"({"model":"m","max_tokens":1})")));
  auto commit_other = sink.Next();
  commit_other(Status::Ok());
  RawResponse r;
  REQUIRE(other.Read(&r));
  CHECK(r.status == 200);
  commit(Status::Ok());
  REQUIRE(c.Read(&r));
  CHECK(r.status == 200);

  REQUIRE(c.Send(CheckRequest("/v1/chat/completions", R"({"model":"m","max_tokens":1})")));
  sink.Next()(Status::IoError("disk full"));
  REQUIRE(c.Read(&r));
  CHECK(r.status == 503);
  CHECK(r.body.find("audit-unavailable") != std::string::npos);
  CHECK(engine.counters().audit_failures == 1);
}

}  // namespace
}  // namespace tosgate::api
