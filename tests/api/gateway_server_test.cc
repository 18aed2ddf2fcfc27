#include "api/gateway/gateway_server.h"

#include <doctest/doctest.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "engine/accounts.h"
#include "tests/api/raw_client.h"
#include "tests/api/test_engine.h"

namespace tosgate::api {
namespace {

using test::HttpRequest;
using test::RawClient;
using test::RawResponse;

struct ServerFixture {
  test::TestEngine te;
  std::unique_ptr<GatewayServer> server;
  explicit ServerFixture(GatewayServerOptions o = Options()) {
    auto r = GatewayServer::Start(std::move(o), te.engine);
    REQUIRE_MESSAGE(r.ok(), r.status().ToString());
    server = std::move(r).value();
  }
  static GatewayServerOptions Options() {
    GatewayServerOptions o;
    o.listen = "127.0.0.1:0";
    o.threads = 2;
    return o;
  }
  int port() const { return server->port(); }
};

std::string Check(const std::string& key,
                  std::vector<std::pair<std::string, std::string>> extra = {}) {
  std::vector<std::pair<std::string, std::string>> h = {{"X-Original-Method", "POST"},
                                                        {"X-Original-URI", "/v1/chat/completions"},
                                                        {"Authorization", "Bearer " + key}};
  for (auto& e : extra) h.push_back(std::move(e));
  return HttpRequest("GET", "/v1/check", h);
}

TEST_CASE("gateway: an allowed check answers 200 with a decision id") {
  ServerFixture f;
  CHECK(f.port() > 0);
  RawClient c(f.port());
  REQUIRE(c.connected());
  RawResponse r;
  REQUIRE(c.RoundTrip(Check("sk-allow"), &r));
  CHECK(r.status == 200);
  CHECK(r.header("x-tos-decision") == "allow");
  CHECK(!r.header("x-tos-decision-id").empty());
  CHECK(r.header("x-tos-operation") == "chat");
  CHECK(r.header("ratelimit-policy") == "\"rate.rpm\";q=2;w=60");
  CHECK(r.has("x-tos-account"));
}

TEST_CASE("gateway: a denied check answers 403 problem+json") {
  ServerFixture f;
  RawClient c(f.port());
  RawResponse r;
  REQUIRE(c.RoundTrip(Check("sk-deny", {{"X-Usage-Purpose", "model-training"}}), &r));
  CHECK(r.status == 403);
  CHECK(r.header("content-type") == "application/problem+json");
  CHECK(r.header("x-tos-decision") == "deny");
  CHECK(r.header("x-tos-rule") == "purpose.no-model-training");
  CHECK(r.header("x-tos-reason") == "competitor-training-declared");
  auto j = nlohmann::json::parse(r.body);
  CHECK(j["status"] == 403);
  CHECK(j["decision_id"] == r.header("x-tos-decision-id"));
}

TEST_CASE("gateway: the third request in a minute is throttled, on one keep-alive connection") {
  ServerFixture f;
  RawClient c(f.port());
  RawResponse r;
  for (int i = 0; i < 2; ++i) {
    REQUIRE(c.RoundTrip(Check("sk-rate"), &r));
    CHECK(r.status == 200);
  }
  REQUIRE(c.RoundTrip(Check("sk-rate"), &r));
  CHECK(r.status == 429);
  CHECK(r.header("x-tos-decision") == "throttle");
  CHECK(std::stoi(r.header("retry-after")) >= 1);
  CHECK(r.header("content-type") == "application/problem+json");
  // Another key is not affected, still on the same connection.
  REQUIRE(c.RoundTrip(Check("sk-other"), &r));
  CHECK(r.status == 200);
  CHECK(f.server->stats().connections == 1);
  CHECK(f.server->requests_served() == 4);
}

TEST_CASE(
    "gateway: X-Tos-Proxy: nginx turns a throttle into 403 with X-Tos-Status and X-Tos-Problem") {
  ServerFixture f;
  RawClient c(f.port());
  RawResponse r;
  for (int i = 0; i < 2; ++i)
    REQUIRE(c.RoundTrip(Check("sk-nginx", {{"X-Tos-Proxy", "nginx"}}), &r));
  REQUIRE(c.RoundTrip(Check("sk-nginx", {{"X-Tos-Proxy", "nginx"}}), &r));
  CHECK(r.status == 403);
  CHECK(r.header("x-tos-status") == "429");
  CHECK(!r.header("retry-after").empty());
  auto j = nlohmann::json::parse(r.header("x-tos-problem"));
  CHECK(j["status"] == 429);
  CHECK(j["decision_id"] == r.header("x-tos-decision-id"));
}

TEST_CASE("gateway: pipelined requests are answered in order") {
  ServerFixture f;
  RawClient c(f.port());
  REQUIRE(c.Send(HttpRequest("GET", "/healthz") +
                 Check("sk-p", {{"X-Usage-Purpose", "model-training"}}) +
                 HttpRequest("GET", "/nope")));
  RawResponse r;
  REQUIRE(c.Read(&r));
  CHECK(r.status == 200);
  REQUIRE(c.Read(&r));
  CHECK(r.status == 403);
  REQUIRE(c.Read(&r));
  CHECK(r.status == 404);
}

TEST_CASE("gateway: Envoy-style checks carry the path and body in the request") {
  ServerFixture f;
  RawClient c(f.port());
  RawResponse r;
  REQUIRE(c.RoundTrip(HttpRequest("POST", "/v1/check/v1/chat/completions",
                                  {{"Content-Type", "application/json"}, {"x-api-key", "sk-envoy"}},
                                  R"({"model":"m","messages":[]})"),
                      &r));
  CHECK(r.status == 200);
  CHECK(r.header("x-tos-operation") == "chat");
}

TEST_CASE("gateway: Expect: 100-continue is answered before the body is sent") {
  ServerFixture f;
  RawClient c(f.port());
  REQUIRE(
      c.Send("POST /v1/check/v1/chat/completions HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
             "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n"));
  RawResponse r;
  REQUIRE(c.Read(&r));
  CHECK(r.status == 100);
  REQUIRE(c.RoundTrip("{}", &r));
  CHECK(r.status == 200);
}

TEST_CASE("gateway: healthz, unknown routes and bad methods") {
  ServerFixture f;
  RawClient c(f.port());
  RawResponse r;
  REQUIRE(c.RoundTrip(HttpRequest("GET", "/healthz"), &r));
  CHECK(r.status == 200);
  CHECK(r.body == R"({"status":"ok"})");
  REQUIRE(c.RoundTrip(HttpRequest("GET", "/v1/checkout"), &r));
  CHECK(r.status == 404);
  CHECK(r.header("content-type") == "application/problem+json");
  REQUIRE(c.RoundTrip(HttpRequest("POST", "/healthz"), &r));
  CHECK(r.status == 405);
  CHECK(r.header("allow") == "GET, HEAD");
}

TEST_CASE("gateway: a malformed JSON body is a 400 and the connection stays usable") {
  ServerFixture f;
  RawClient c(f.port());
  RawResponse r;
  REQUIRE(c.RoundTrip(HttpRequest("POST", "/v1/check/v1/chat/completions", {}, "{\"model\":"), &r));
  CHECK(r.status == 400);
  // Translate() refuses what it cannot read as unreadable-body (issue 19).
  CHECK(nlohmann::json::parse(r.body)["reason"] == "unreadable-body");
  REQUIRE(c.RoundTrip(HttpRequest("GET", "/healthz"), &r));
  CHECK(r.status == 200);
  CHECK(f.server->stats().bad_requests == 1);
}

TEST_CASE("gateway: an oversized body is a 413, the connection closes, the server serves on") {
  GatewayServerOptions o = ServerFixture::Options();
  o.forward_auth.max_body_bytes = 1024;
  ServerFixture f(o);
  {
    RawClient c(f.port());
    RawResponse r;
    REQUIRE(c.RoundTrip(
        HttpRequest("POST", "/v1/check/v1/chat/completions", {}, std::string(4096, 'x')), &r));
    CHECK(r.status == 413);
    CHECK(r.header("content-type") == "application/problem+json");
    CHECK(r.header("connection") == "close");
    CHECK(c.Closed());
  }
  {
    // Chunked: the limit is found while reading the body.
    RawClient c(f.port());
    std::string chunk(800, 'y');
    char size[16];
    std::snprintf(size, sizeof size, "%zx", chunk.size());
    std::string req =
        "POST /v1/check/v1/x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
    req += std::string(size) + "\r\n" + chunk + "\r\n" + std::string(size) + "\r\n" + chunk +
           "\r\n0\r\n\r\n";
    RawResponse r;
    REQUIRE(c.RoundTrip(req, &r));
    CHECK(r.status == 413);
  }
  RawClient c(f.port());
  RawResponse r;
  REQUIRE(c.RoundTrip(HttpRequest("GET", "/healthz"), &r));
  CHECK(r.status == 200);
}

TEST_CASE("gateway: garbage bytes are a 400, the server serves on") {
  ServerFixture f;
  {
    RawClient c(f.port());
    RawResponse r;
    REQUIRE(c.RoundTrip(std::string("\x16\x03\x01\x02\x00garbage\r\n\r\n", 16), &r));
    CHECK(r.status == 400);
    CHECK(r.header("content-type") == "application/problem+json");
    CHECK(c.Closed());
  }
  {
    RawClient c(f.port());
    RawResponse r;
    REQUIRE(c.RoundTrip("GET /v1/check HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", &r));
    CHECK(r.status == 400);
  }
  {
    RawClient c(f.port());
    RawResponse r;
    std::string huge =
        "GET /v1/check HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(64 * 1024, 'a') + "\r\n\r\n";
    REQUIRE(c.RoundTrip(huge, &r));
    CHECK(r.status == 431);
  }
  RawClient c(f.port());
  RawResponse r;
  REQUIRE(c.RoundTrip(Check("sk-after-garbage"), &r));
  CHECK(r.status == 200);
  CHECK(f.server->stats().bad_requests == 3);
  CHECK(f.server->stats().internal_errors == 0);
}

TEST_CASE("gateway: a port in use is an error Status, not a crash") {
  ServerFixture f;
  test::TestEngine te;
  GatewayServerOptions o;
  o.listen = "127.0.0.1:" + std::to_string(f.port());
  o.threads = 1;
  auto second = GatewayServer::Start(o, te.engine);
  REQUIRE_FALSE(second.ok());
  CHECK(second.status().code() == Status::Code::kUnavailable);
  CHECK(second.status().message().find(o.listen) != std::string::npos);

  o.listen = "127.0.0.1";
  CHECK(GatewayServer::Start(o, te.engine).status().code() == Status::Code::kInvalidArgument);
  o.listen = "127.0.0.1:99999";
  CHECK(GatewayServer::Start(o, te.engine).status().code() == Status::Code::kInvalidArgument);
}

TEST_CASE("gateway: Stop with an idle keep-alive connection returns promptly and closes it") {
  GatewayServerOptions o = ServerFixture::Options();
  o.stop_grace = std::chrono::seconds(30);
  o.idle_timeout = std::chrono::seconds(60);
  ServerFixture f(o);
  RawClient c(f.port());
  RawResponse r;
  REQUIRE(c.RoundTrip(HttpRequest("GET", "/healthz"), &r));
  REQUIRE(r.status == 200);
  auto start = std::chrono::steady_clock::now();
  f.server->Stop();
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(took < std::chrono::seconds(5));  // far below the 30 s grace
  CHECK(c.Closed());
  f.server->Stop();  // idempotent
  RawClient late(f.port());
  CHECK_FALSE(late.connected());
}

}  // namespace
}  // namespace tosgate::api

namespace tosgate::api {
namespace {

TEST_CASE("gateway: a client sending its body slower than read_timeout is cut off; others are served") {
  GatewayServerOptions o = ServerFixture::Options();
  o.read_timeout = std::chrono::seconds(1);
  ServerFixture f(o);
  RawClient slow(f.port());
  REQUIRE(slow.connected());
  // Headers promise 100 bytes of body; 10 come, then nothing.
  REQUIRE(slow.Send("POST /v1/check HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n0123456789"));
  RawClient other(f.port());
  RawResponse r;
  REQUIRE(other.RoundTrip(Check("sk-allow"), &r));
  CHECK(r.status == 200);
  const auto start = std::chrono::steady_clock::now();
  while (!slow.Closed() && std::chrono::steady_clock::now() - start < std::chrono::seconds(5)) {
  }
  CHECK(slow.Closed());
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
}

}  // namespace
}  // namespace tosgate::api
