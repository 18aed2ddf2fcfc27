// Every endpoint of the route table x every role, plus no token and a wrong
// token. Generated from the table itself, so a new endpoint is covered the
// day it is added.
#include <doctest/doctest.h>

#include "api/admin/handlers.h"
#include "tests/admin/fixture.h"

namespace tosgate::api::admin {
namespace {

std::string Concrete(const std::string& pattern) {
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '{') {
      out += pattern[i];
      continue;
    }
    const size_t close = pattern.find('}', i);
    out += pattern.substr(i + 1, close - i - 1) == "key_id" ? std::string(64, 'a') : "1";
    i = close;
  }
  return out;
}

TEST_CASE("admin matrix: every endpoint x every role x missing and invalid tokens") {
  AdminServerOptions opts;
  opts.backoff.free_failures = 1'000'000;  // the wrong-token calls here are not an attack
  test::AdminFixture fx(opts);
  AdminServices none;
  Router table(nullptr);
  AddAllRoutes(table, &none);
  REQUIRE(table.routes().size() >= 25);

  size_t checked = 0;
  for (const Route& route : table.routes()) {
    const std::string path = Concrete(route.pattern);
    const std::string body = route.method == "GET" || route.method == "DELETE" ? "" : "{}";
    INFO(route.method << " " << path);
    httplib::Client c = fx.Client();
    auto send = [&](const httplib::Headers& h) {
      if (route.method == "GET") return c.Get(path.c_str(), h);
      if (route.method == "DELETE") return c.Delete(path.c_str(), h);
      if (route.method == "PATCH") return c.Patch(path.c_str(), h, body, "application/json");
      return c.Post(path.c_str(), h, body, "application/json");
    };
    auto missing = send({});
    auto invalid = send({{"Authorization", "Bearer not-a-token"}});
    auto not_bearer = send({{"Authorization", "Basic dG9rLWFkbWluOg=="}});
    REQUIRE(missing);
    REQUIRE(invalid);
    REQUIRE(not_bearer);
    if (route.roles == kPublic) {
      CHECK(missing->status != 401);
    } else {
      CHECK(missing->status == 401);
      CHECK(missing->get_header_value("Content-Type") == "application/problem+json");
      CHECK(missing->get_header_value("WWW-Authenticate").find("Bearer") == 0);
      CHECK(invalid->status == 401);
      CHECK(not_bearer->status == 401);
    }
    for (Role role : kAllRoles) {
      INFO("role " << RoleName(role));
      auto r = send(fx.Auth(role));
      REQUIRE(r);
      const bool allowed = route.roles == kPublic || (route.roles & RoleBit(role)) != 0;
      if (allowed) {
        CHECK(r->status != 401);
        CHECK(r->status != 403);
      } else {
        CHECK(r->status == 403);
        CHECK(nlohmann::json::parse(r->body)["reason"] == "forbidden");
      }
      ++checked;
    }
  }
  CHECK(checked == table.routes().size() * 4);
}

TEST_CASE("admin auth: repeated failures from one address are slowed down, then allowed again") {
  AdminServerOptions opts;
  opts.backoff.free_failures = 3;
  opts.backoff.first_wait_ns = 2'000'000'000;
  test::AdminFixture fx(opts, /*with_stores=*/false);
  httplib::Client c = fx.Client();
  const httplib::Headers bad = {{"Authorization", "Bearer wrong"}};
  for (int i = 0; i < 3; ++i) CHECK(c.Get("/metrics", bad)->status == 401);
  CHECK(c.Get("/metrics", bad)->status == 401);  // the 4th failure starts a wait
  auto r = c.Get("/metrics", fx.Auth(Role::kAdmin));
  REQUIRE(r);
  CHECK(r->status == 429);  // even a good token waits: the address is on hold
  CHECK(r->get_header_value("Retry-After") == "2");
  CHECK(nlohmann::json::parse(r->body)["reason"] == "too-many-auth-failures");
  fx.te.clock.advance_ms(2001);
  CHECK(c.Get("/metrics", fx.Auth(Role::kAdmin))->status == 200);
  // Success forgot the failures: three more are free again.
  for (int i = 0; i < 3; ++i) CHECK(c.Get("/metrics", bad)->status == 401);
  CHECK(c.Get("/metrics", fx.Auth(Role::kAdmin))->status == 200);
}

TEST_CASE("admin auth: the wait doubles with every further failure, up to the cap") {
  FakeClock clock;
  BackoffOptions b;
  b.free_failures = 1;
  b.first_wait_ns = 1'000'000'000;
  b.max_wait_ns = 4'000'000'000;
  Authenticator auth({{"ops", engine::Sha256Hex("good"), Role::kAdmin}}, &clock, b);
  const std::string bad = "Bearer bad";
  const std::string good = "Bearer good";
  CHECK(auth.Authenticate(&bad, "a").outcome == Authenticator::Outcome::kInvalid);  // free
  CHECK(auth.Authenticate(&bad, "a").outcome == Authenticator::Outcome::kInvalid);  // waits 1s
  CHECK(auth.Authenticate(&good, "a").retry_after_s == 1);
  CHECK(auth.Authenticate(&good, "b").outcome == Authenticator::Outcome::kOk);  // other address
  clock.advance_ms(1000);
  CHECK(auth.Authenticate(&bad, "a").outcome == Authenticator::Outcome::kInvalid);  // waits 2s
  CHECK(auth.Authenticate(&bad, "a").retry_after_s == 2);
  clock.advance_ms(2000);
  CHECK(auth.Authenticate(&bad, "a").outcome == Authenticator::Outcome::kInvalid);  // 4s
  clock.advance_ms(4000);
  CHECK(auth.Authenticate(&bad, "a").outcome == Authenticator::Outcome::kInvalid);  // capped: 4s
  CHECK(auth.Authenticate(&good, "a").retry_after_s == 4);
  auto v = Authenticator::Check({{"x", "nothex", Role::kAdmin}});
  CHECK_FALSE(v.ok());
  CHECK(ParseRole("policy-author").ok());
  CHECK_FALSE(ParseRole("root").ok());
}

}  // namespace
}  // namespace tosgate::api::admin
