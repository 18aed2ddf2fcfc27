// GET /v1/admin/accounts/{id}/usage: an account's usage against each rate
// limit and token budget, read without counting.
#include <doctest/doctest.h>

#include "policies/loader.h"
#include "tests/admin/fixture.h"

namespace tosgate::api::admin {
namespace {

using test::AdminFixture;

constexpr char kPolicy[] = R"(apiVersion: tosgate/v1
kind: Policy
metadata: {name: usage}
operations:
  chat: {methods: [POST], paths: [/v1/chat/completions]}
rules:
  - id: rate.account
    kind: rate_limit
    scope: [account]
    limit:
      free: {requests: 5, per: 1m}
  - id: rate.ip
    kind: rate_limit
    scope: [ip]
    limit: {requests: 100, per: 1m}
)";

}  // namespace

TEST_CASE("admin usage: used, remaining and reset per limit; reading counts nothing") {
  AdminFixture fx;
  policies::LoadResult loaded = policies::LoadPolicyFiles({{"usage.yaml", kPolicy}});
  REQUIRE_MESSAGE(loaded.errors.empty(), loaded.errors[0].ToString());
  fx.te.engine.Publish(loaded.snapshot);
  REQUIRE(fx.Call(Role::kAdmin, "POST", "/v1/admin/accounts",
                  R"({"id": "a1", "org": "acme", "tier": "free"})")
              ->status == 201);
  Request req;
  req.method = "POST";
  req.path = "/v1/chat/completions";
  req.client_ip = "198.51.100.4";
  Account a;
  a.id = "a1";
  a.org = "acme";
  a.tier = "free";
  req.account = a;
  for (int i = 0; i < 2; ++i) REQUIRE(fx.te.engine.Check(req).effect == Effect::kAllow);

  for (int i = 0; i < 3; ++i) {  // the same answer each time: nothing counted
    auto r = fx.Call(Role::kViewer, "GET", "/v1/admin/accounts/a1/usage");
    REQUIRE(r);
    REQUIRE_MESSAGE(r->status == 200, r->body);
    auto j = AdminFixture::J(r);
    CHECK(j["account"] == "a1");
    REQUIRE(j["limits"].size() == 2);
    const auto& l = j["limits"][0];
    CHECK(l["rule"] == "rate.account");
    CHECK(l["kind"] == "rate_limit");
    CHECK(l["unit"] == "requests");
    CHECK(l["scope"] == "account=a1");
    CHECK(l["limit"] == "5 per 1m");
    CHECK(l["used"] == 2);
    CHECK(l["remaining"] == 3);
    CHECK(l["reset_ms"].get<int64_t>() > 0);
    CHECK(l["override"] == false);
    CHECK(j["limits"][1]["scope"] == "…");
    CHECK(j["limits"][1]["used"].is_null());
  }
  // The three reads left the account its three remaining requests.
  for (int i = 0; i < 3; ++i) CHECK(fx.te.engine.Check(req).effect == Effect::kAllow);
  CHECK(fx.te.engine.Check(req).effect == Effect::kThrottle);
  CHECK(fx.Call(Role::kViewer, "GET", "/v1/admin/accounts/nobody/usage")->status == 404);
}

}  // namespace tosgate::api::admin
