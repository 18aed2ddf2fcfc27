// Spend made visible through the admin API: an account's spend against each
// cost budget (GET /v1/admin/accounts/{id}/spend) and the per-tier totals in
// /metrics.
#include <doctest/doctest.h>

#include "policies/loader.h"
#include "tests/admin/fixture.h"

namespace tosgate::api::admin {
namespace {

using test::AdminFixture;

// $1 per million input tokens, $2 output; max_tokens 1000 reserves $0.002.
constexpr char kPolicy[] = R"(apiVersion: tosgate/v1
kind: Policy
metadata: {name: spend}
operations:
  chat: {methods: [POST], paths: [/v1/chat/completions]}
prices:
  models:
    m: {input: 1, output: 2}
rules:
  - id: spend.org
    kind: cost_budget
    scope: [org]
    limit:
      free: {usd: 5, per: month, timezone: America/New_York}
)";

}  // namespace

TEST_CASE("admin spend: an account's spend to date against each budget, and per tier in /metrics") {
  AdminFixture fx;
  policies::LoadResult loaded = policies::LoadPolicyFiles({{"spend.yaml", kPolicy}});
  REQUIRE_MESSAGE(loaded.errors.empty(), loaded.errors[0].ToString());
  fx.te.engine.Publish(loaded.snapshot);
  REQUIRE(fx.Call(Role::kAdmin, "POST", "/v1/admin/accounts",
                  R"({"id": "a1", "org": "acme", "tier": "free"})")
              ->status == 201);
  Request req;
  req.method = "POST";
  req.path = "/v1/chat/completions";
  Account a;
  a.id = "a1";
  a.org = "acme";
  a.tier = "free";
  req.account = a;
  req.body.present = true;
  req.body.model = "m";
  req.body.max_tokens = 1000;
  REQUIRE(fx.te.engine.Check(req).effect == Effect::kAllow);

  auto r = fx.Call(Role::kViewer, "GET", "/v1/admin/accounts/a1/spend");
  REQUIRE(r);
  REQUIRE_MESSAGE(r->status == 200, r->body);
  auto j = AdminFixture::J(r);
  CHECK(j["account"] == "a1");
  REQUIRE(j["budgets"].size() == 1);
  const auto& b = j["budgets"][0];
  CHECK(b["rule"] == "spend.org");
  CHECK(b["scope"] == "org=acme");
  CHECK(b["spent_usd"] == "0.002");
  CHECK(b["spent_nano"] == 2'000'000);
  CHECK(b["limit_usd"] == "5.00");
  CHECK(b["remaining_usd"] == "4.998");
  CHECK(b["per"] == "month");
  CHECK(b["timezone"] == "America/New_York");
  CHECK(b["resets_at"].get<std::string>().rfind("-05:00") != std::string::npos);
  CHECK(fx.Call(Role::kViewer, "GET", "/v1/admin/accounts/nobody/spend")->status == 404);

  auto m = fx.Call(Role::kViewer, "GET", "/metrics");
  REQUIRE(m);
  CHECK(m->body.find("tosgate_spend_reserved_nanousd_total{tier=\"free\"} 2000000\n") != std::string::npos);
  CHECK(m->body.find("tosgate_spend_settled_nanousd_total{tier=\"free\"} 0\n") != std::string::npos);
}

}  // namespace tosgate::api::admin
