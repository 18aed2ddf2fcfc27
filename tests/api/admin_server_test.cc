#include "api/admin/admin_server.h"

#include <doctest/doctest.h>

#include <atomic>
#include <nlohmann/json.hpp>

#include "tests/api/raw_client.h"
#include "tests/api/test_engine.h"

namespace tosgate::api {
namespace {

using test::HttpRequest;
using test::RawClient;
using test::RawResponse;

AdminServerOptions Options() {
  AdminServerOptions o;
  o.listen = "127.0.0.1:0";
  o.threads = 2;
  return o;
}

RawResponse Get(int port, const std::string& method, const std::string& path) {
  RawClient c(port);
  REQUIRE(c.connected());
  RawResponse r;
  REQUIRE(c.RoundTrip(HttpRequest(method, path, {{"Connection", "close"}}), &r));
  return r;
}

TEST_CASE("admin: healthz is 200 and readyz names the policy revision") {
  test::TestEngine te;
  auto s = AdminServer::Start(Options(), te.engine, nullptr);
  REQUIRE_MESSAGE(s.ok(), s.status().ToString());
  int port = (*s)->port();
  CHECK(port > 0);

  RawResponse r = Get(port, "GET", "/healthz");
  CHECK(r.status == 200);
  CHECK(nlohmann::json::parse(r.body)["status"] == "ok");

  r = Get(port, "GET", "/readyz");
  CHECK(r.status == 200);
  auto j = nlohmann::json::parse(r.body);
  CHECK(j["status"] == "ready");
  CHECK(j["policy_revision"] == "rev-test-1");
  (*s)->Stop();
  (*s)->Stop();
}

TEST_CASE("admin: readyz is 503 without a snapshot, or when the program is not ready") {
  test::TestEngine te(/*publish=*/false);
  std::atomic<bool> ready{true};
  auto s = AdminServer::Start(Options(), te.engine, [&ready](std::string* why) {
    if (!ready.load()) *why = "audit store is opening";
    return ready.load();
  });
  REQUIRE(s.ok());
  int port = (*s)->port();

  RawResponse r = Get(port, "GET", "/readyz");
  CHECK(r.status == 503);
  CHECK(nlohmann::json::parse(r.body)["reason"] == "no policy snapshot is published");

  te.engine.Publish(test::TestSnapshot());
  CHECK(Get(port, "GET", "/readyz").status == 200);

  ready = false;
  r = Get(port, "GET", "/readyz");
  CHECK(r.status == 503);
  CHECK(nlohmann::json::parse(r.body)["reason"] == "audit store is opening");
}

TEST_CASE("admin: unknown routes and bad methods are problem+json") {
  test::TestEngine te;
  auto s = AdminServer::Start(Options(), te.engine, nullptr);
  REQUIRE(s.ok());
  RawResponse r = Get((*s)->port(), "GET", "/nope");
  CHECK(r.status == 404);
  CHECK(r.header("content-type") == "application/problem+json");
  CHECK(nlohmann::json::parse(r.body)["status"] == 404);

  r = Get((*s)->port(), "POST", "/readyz");
  CHECK(r.status == 405);
  CHECK(r.header("allow") == "GET");
  CHECK(r.header("content-type") == "application/problem+json");
}

TEST_CASE("admin: a port in use is an error Status") {
  test::TestEngine te;
  auto first = AdminServer::Start(Options(), te.engine, nullptr);
  REQUIRE(first.ok());
  AdminServerOptions o = Options();
  o.listen = "127.0.0.1:" + std::to_string((*first)->port());
  auto second = AdminServer::Start(o, te.engine, nullptr);
  REQUIRE_FALSE(second.ok());
  CHECK(second.status().code() == Status::Code::kUnavailable);
}

TEST_CASE("admin: Stop right after Start does not hang") {
  test::TestEngine te;
  for (int i = 0; i < 20; ++i) {
    auto s = AdminServer::Start(Options(), te.engine, nullptr);
    REQUIRE(s.ok());
    (*s)->Stop();
  }
}

}  // namespace
}  // namespace tosgate::api
