// POST /v1/admin/policies/backtest: a candidate against recorded traffic
// and the serving policy set (tests/api/test_engine.h: model-training is
// denied, 2 requests a minute per account), as `tosgate replay` reports it.
#include <doctest/doctest.h>

#include <fstream>

#include "tests/admin/fixture.h"

namespace tosgate::api::admin {
namespace {

// Six requests a second apart, three declaring model-training, and one line
// that is not a request.
std::string WriteCapture(const std::string& dir) {
  const std::string path = dir + "/capture.jsonl";
  std::ofstream out(path);
  for (int i = 0; i < 6; ++i) {
    out << "{\"ts\": " << 1764331200000 + i * 1000
        << ", \"method\": \"POST\", \"path\": \"/v1/chat/completions\", \"headers\": {\"authorization\": "
           "\"Bearer sk-a\", \"x-usage-purpose\": \""
        << (i % 2 ? "model-training" : "chatbot") << "\"}, \"body\": {\"model\": \"m\"}}\n";
    if (i == 2) out << "{\"path\": \"/v1/chat/completions\"}\n";  // line 4: no ts
  }
  return path;
}

nlohmann::json Bundle(const std::string& yaml) { return {{"files", {{"p.yaml", yaml}}}}; }

// No purpose rule, 1000 requests a minute: allows the whole capture.
const std::string kOpen =
    "apiVersion: tosgate/v1\nkind: Policy\nmetadata: {name: open}\n"
    "operations:\n  chat: {methods: [POST], paths: [/v1/chat/completions]}\n"
    "rules:\n  - id: rate.rpm\n    kind: rate_limit\n    scope: [account]\n"
    "    limit: {requests: 1000, per: 1m}\n    action: throttle\n";

uint64_t RuleCount(const nlohmann::json& rules, const std::string& id, const std::string& effect) {
  for (const auto& r : rules)
    if (r["rule"] == id && r["effect"] == effect) return r["decisions"].get<uint64_t>();
  return 0;
}

TEST_CASE("admin backtest: only policy authors and admins; 503 without a capture") {
  test::AdminFixture none;
  auto r = none.Call(Role::kPolicyAuthor, "POST", "/v1/admin/policies/backtest", Bundle(test::PolicyYaml(9)).dump());
  REQUIRE(r);
  CHECK(r->status == 503);
  CHECK(test::AdminFixture::J(r)["reason"] == "not-configured");

  test::TempDir dir;
  test::AdminFixture fx({}, true, WriteCapture(dir.path()));
  for (Role role : {Role::kViewer, Role::kAuditor}) {
    r = fx.Call(role, "POST", "/v1/admin/policies/backtest", Bundle(test::PolicyYaml(9)).dump());
    REQUIRE(r);
    CHECK(r->status == 403);
  }
  r = fx.Client().Post("/v1/admin/policies/backtest", Bundle(test::PolicyYaml(9)).dump(), "application/json");
  REQUIRE(r);
  CHECK(r->status == 401);
}

TEST_CASE("admin backtest: a candidate against the capture and the serving set, side by side") {
  test::TempDir dir;
  test::AdminFixture fx({}, true, WriteCapture(dir.path()));
  const uint64_t audit_before = fx.AuditRows();
  auto r = fx.Call(Role::kPolicyAuthor, "POST", "/v1/admin/policies/backtest", Bundle(kOpen).dump());
  REQUIRE(r);
  REQUIRE_MESSAGE(r->status == 200, r->body);
  auto j = test::AdminFixture::J(r);
  INFO(r->body);
  CHECK(j["requests"] == 6);
  CHECK(j["lines_skipped"] == 1);
  CHECK(j["problems"][0]["line"] == 4);
  CHECK(j["effects"]["candidate"] == nlohmann::json({{"allow", 6}, {"throttle", 0}, {"deny", 0}}));
  // The serving set denies the three model-training requests and throttles
  // the third of the others (2 a minute).
  CHECK(j["effects"]["active"] == nlohmann::json({{"allow", 2}, {"throttle", 1}, {"deny", 3}}));
  CHECK(RuleCount(j["rules"]["active"], "purpose.no-model-training", "deny") == 3);
  CHECK(RuleCount(j["rules"]["active"], "rate.rpm", "throttle") == 1);
  CHECK(j["rules"]["candidate"].empty());
  CHECK(j["changes"] == nlohmann::json::parse(R"([{"from": "throttle", "to": "allow", "requests": 1},
                                                   {"from": "deny", "to": "allow", "requests": 3}])"));
  CHECK(j["unchanged"] == 2);
  REQUIRE(!j["samples"].empty());
  CHECK(j["samples"].size() == 4);
  CHECK(j["samples"][0]["line"] == 2);  // the first model-training request
  CHECK(j["samples"][0]["active"]["effect"] == "deny");
  CHECK(j["samples"][0]["candidate"]["effect"] == "allow");
  CHECK(j["active_revision"] == "rev-test-1");
  CHECK(j["candidate_revision"].get<std::string>() != "rev-test-1");
  // Nothing changed: the serving set, the versions, the audit trail.
  CHECK(fx.te.engine.snapshot()->revision == "rev-test-1");
  CHECK(fx.versions->List(10)->empty());
  CHECK(fx.AuditRows() == audit_before);

  // A stored version gives the same report as its bundle.
  REQUIRE(fx.Call(Role::kPolicyAuthor, "POST", "/v1/admin/policies", Bundle(kOpen).dump())->status ==
          201);
  auto v = test::AdminFixture::J(fx.Call(Role::kAdmin, "POST", "/v1/admin/policies/backtest",
                                         nlohmann::json({{"version", 1}}).dump()));
  CHECK(v["effects"] == j["effects"]);
  CHECK(v["changes"] == j["changes"]);
}

TEST_CASE("admin backtest: a bad candidate is refused with each error's line and column") {
  test::TempDir dir;
  test::AdminFixture fx({}, true, WriteCapture(dir.path()));
  const std::string bad = "apiVersion: tosgate/v1\nkind: Policy\nmetadata: {name: t}\nrules:\n  - {id: a, kind: nope}\n";
  auto r = fx.Call(Role::kPolicyAuthor, "POST", "/v1/admin/policies/backtest", Bundle(bad).dump());
  REQUIRE(r);
  CHECK(r->status == 422);
  auto j = test::AdminFixture::J(r);
  CHECK(j["reason"] == "invalid-policy");
  REQUIRE(!j["errors"].empty());
  CHECK(j["errors"][0]["file"] == "p.yaml");
  CHECK(j["errors"][0]["line"] == 5);
  CHECK(j["errors"][0]["column"].get<int>() > 0);

  r = fx.Call(Role::kPolicyAuthor, "POST", "/v1/admin/policies/backtest",
              nlohmann::json({{"files", {{"p.yaml", bad}}}, {"version", 1}}).dump());
  REQUIRE(r);
  CHECK(r->status == 400);
  r = fx.Call(Role::kPolicyAuthor, "POST", "/v1/admin/policies/backtest", nlohmann::json({{"version", 7}}).dump());
  REQUIRE(r);
  CHECK(r->status == 404);
  r = fx.Call(Role::kPolicyAuthor, "POST", "/v1/admin/policies/backtest", "{\"files\": 3}");
  REQUIRE(r);
  CHECK(r->status == 400);
}

}  // namespace
}  // namespace tosgate::api::admin
