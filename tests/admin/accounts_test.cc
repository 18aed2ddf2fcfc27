#include <doctest/doctest.h>

#include "api/admin/review_observer.h"
#include "engine/accounts.h"
#include "tests/admin/fixture.h"

namespace tosgate::api::admin {
namespace {

using test::AdminFixture;

TEST_CASE("admin accounts: create, read, update, suspend, keys shown once, revoke") {
  AdminFixture fx;
  auto r = fx.Call(Role::kAdmin, "POST", "/v1/admin/accounts",
                   R"({"id": "a1", "org": "o1", "tier": "free", "flags": ["beta"]})");
  REQUIRE(r);
  REQUIRE_MESSAGE(r->status == 201, r->body);
  CHECK(AdminFixture::J(r)["tier"] == "free");
  CHECK(fx.Call(Role::kAdmin, "POST", "/v1/admin/accounts", R"({"id": "a1"})")->status == 409);

  r = fx.Call(Role::kAdmin, "PATCH", "/v1/admin/accounts/a1",
              R"({"tier": "pro", "limit_overrides": {"rate.rpm": {"requests": 100, "per": "1m"}}})");
  REQUIRE(r);
  REQUIRE_MESSAGE(r->status == 200, r->body);
  auto a = fx.registry->GetAccount("a1");
  REQUIRE(a.ok());
  CHECK(a->tier == "pro");
  CHECK(a->org == "o1");
  REQUIRE(a->limit_overrides.size() == 1);
  CHECK(a->limit_overrides[0].amount == 100);

  CHECK(fx.Call(Role::kAdmin, "POST", "/v1/admin/accounts/a1/suspend", R"({"note": "abuse"})")->status == 200);
  CHECK(fx.registry->GetAccount("a1")->suspended);
  CHECK(fx.Call(Role::kAdmin, "POST", "/v1/admin/accounts/a1/unsuspend")->status == 200);
  CHECK_FALSE(fx.registry->GetAccount("a1")->suspended);

  r = fx.Call(Role::kAdmin, "POST", "/v1/admin/accounts/a1/keys", R"({"label": "ci"})");
  REQUIRE(r);
  CHECK(r->status == 201);
  auto key = AdminFixture::J(r);
  const std::string secret = key["key"];
  CHECK(secret.rfind("sk-tg-", 0) == 0);
  CHECK(key["key_id"] == engine::KeyId(secret));
  // Later reads show the key id only, never the secret.
  auto keys = fx.Call(Role::kAuditor, "GET", "/v1/admin/accounts/a1/keys");
  CHECK(keys->body.find(secret) == std::string::npos);
  CHECK(AdminFixture::J(keys)["keys"][0]["key_id"] == key["key_id"]);
  CHECK(fx.Call(Role::kViewer, "GET", "/v1/admin/accounts/a1")->body.find(secret) == std::string::npos);

  r = fx.Call(Role::kAdmin, "DELETE", "/v1/admin/keys/" + key["key_id"].get<std::string>());
  CHECK(r->status == 200);
  CHECK(AdminFixture::J(r)["revoked_ms"].get<int64_t>() > 0);
  CHECK(fx.Call(Role::kAdmin, "DELETE", "/v1/admin/keys/" + std::string(64, 'b'))->status == 404);

  auto list = AdminFixture::J(fx.Call(Role::kViewer, "GET", "/v1/admin/accounts?limit=10"));
  CHECK(list["accounts"].size() == 1);
  CHECK(fx.Call(Role::kViewer, "GET", "/v1/admin/accounts/nobody")->status == 404);
}

TEST_CASE("admin review queue: a review match is queued once, listed and resolved with a note") {
  AdminFixture fx;
  ObservingAuditSink sink(nullptr, &fx.metrics, &fx.te.clock,
                          [&](const std::string& acct, const std::string& rule, const std::string& detail) {
                            (void)fx.reviews->Enqueue(acct, rule, detail);
                          });
  engine::AuditRecord rec;
  rec.account = "a9";
  rec.effect = Effect::kAllow;
  rec.matches = {{"distill.x", Action::kReview, false, "risk 0.8"}};
  REQUIRE(sink.Submit(rec).ok());
  REQUIRE(sink.Submit(rec).ok());  // still open: not queued twice
  rec.matches = {{"rate.rpm", Action::kFlag, false, ""}};
  REQUIRE(sink.Submit(rec).ok());
  sink.DrainReviews();

  auto items = AdminFixture::J(fx.Call(Role::kAuditor, "GET", "/v1/admin/review"))["items"];
  REQUIRE(items.size() == 1);
  CHECK(items[0]["account"] == "a9");
  CHECK(items[0]["rule_id"] == "distill.x");
  CHECK(items[0]["detail"] == "risk 0.8");
  const std::string path = "/v1/admin/review/" + std::to_string(items[0]["id"].get<int64_t>()) + "/resolve";
  CHECK(fx.Call(Role::kAdmin, "POST", path, "{}")->status == 400);  // a note is required
  auto r = fx.Call(Role::kAdmin, "POST", path, R"({"note": "benign eval harness"})");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(AdminFixture::J(r)["resolved_by"] == "admin-token");
  CHECK(fx.Call(Role::kAdmin, "POST", path, R"({"note": "again"})")->status == 409);
  CHECK(AdminFixture::J(fx.Call(Role::kAuditor, "GET", "/v1/admin/review"))["items"].empty());
  CHECK(AdminFixture::J(fx.Call(Role::kAuditor, "GET", "/v1/admin/review?status=all"))["items"].size() == 1);
}

TEST_CASE("admin review queue: a review match in shadow mode queues nothing") {
  AdminFixture fx;
  std::vector<std::string> queued;
  ObservingAuditSink sink(nullptr, &fx.metrics, &fx.te.clock,
                          [&](const std::string& acct, const std::string& rule, const std::string&) {
                            queued.push_back(acct + " " + rule);
                          });
  engine::AuditRecord rec;
  rec.account = "a9";
  rec.effect = Effect::kAllow;
  // A shadow rule is evaluated and recorded, never enforced: no review.
  rec.matches = {{"distill.x", Action::kReview, true, "risk 0.8"}};
  REQUIRE(sink.Submit(rec).ok());
  sink.DrainReviews();
  CHECK(queued.empty());
  // The same record with the rule enforced does queue the account.
  rec.matches[0].shadow = false;
  REQUIRE(sink.Submit(rec).ok());
  sink.DrainReviews();
  CHECK(queued == std::vector<std::string>{"a9 distill.x"});
}

TEST_CASE("admin evaluate: explains without touching counters; commit=true counts (admin only)") {
  AdminFixture fx;
  const std::string body =
      R"({"method": "POST", "path": "/v1/chat/completions", "headers": {"x-usage-purpose": "model-training", "x-tos-account": "a1"}, "body": {"model": "m", "messages": []}})";
  auto r = fx.Call(Role::kPolicyAuthor, "POST", "/v1/admin/evaluate", body);
  REQUIRE(r);
  REQUIRE_MESSAGE(r->status == 200, r->body);
  auto j = AdminFixture::J(r);
  CHECK(j["effect"] == "deny");
  CHECK(j["rules"][0] == "purpose.no-model-training");
  CHECK(j["committed"] == false);
  CHECK(j["explanation"].get<std::string>().find("purpose.no-model-training") != std::string::npos);
  CHECK(fx.te.engine.counters().deny.load() == 0);
  CHECK(fx.Call(Role::kPolicyAuthor, "POST", "/v1/admin/evaluate?commit=true", body)->status == 403);
  r = fx.Call(Role::kAdmin, "POST", "/v1/admin/evaluate?commit=true", body);
  CHECK(AdminFixture::J(r)["committed"] == true);
  CHECK(fx.te.engine.counters().deny.load() == 1);
}

TEST_CASE("admin decisions: query with filters, get by id with explanation, export, verify") {
  AdminFixture fx;
  for (int i = 0; i < 5; ++i) {
    engine::AuditRecord rec;
    rec.id = "d" + std::to_string(i);
    rec.time_ms = 1'764'331'200'000 + i;
    rec.account = i % 2 ? "odd" : "even";
    rec.effect = i == 4 ? Effect::kDeny : Effect::kAllow;
    if (i == 4) {
      rec.rule_ids = {"purpose.no-model-training"};
      rec.matches = {{"purpose.no-model-training", Action::kDeny, false,
                      "request.purpose = model-training"}};
    }
    REQUIRE(fx.audit->Submit(rec).ok());
  }
  REQUIRE(fx.audit->Flush().ok());
  auto j = AdminFixture::J(fx.Call(Role::kAuditor, "GET", "/v1/admin/decisions?account=even&limit=2"));
  REQUIRE(j["decisions"].size() == 2);
  CHECK(j["decisions"][0]["id"] == "d0");
  REQUIRE(j.contains("next_cursor"));
  j = AdminFixture::J(fx.Call(Role::kAuditor, "GET",
                              "/v1/admin/decisions?account=even&limit=2&cursor=" + j["next_cursor"].get<std::string>()));
  REQUIRE(j["decisions"].size() == 1);
  CHECK(j["decisions"][0]["id"] == "d4");
  // SQL metacharacters are data: nothing matches, nothing breaks.
  auto r = fx.Call(Role::kAuditor, "GET", "/v1/admin/decisions?account=x%27%20OR%201%3D1%3B--");
  CHECK(r->status == 200);
  CHECK(AdminFixture::J(r)["decisions"].empty());

  j = AdminFixture::J(fx.Call(Role::kAuditor, "GET", "/v1/admin/decisions/d4"));
  CHECK(j["effect"] == "deny");
  CHECK(j["explanation"].get<std::string>().find("request.purpose = model-training") != std::string::npos);
  CHECK(fx.Call(Role::kAuditor, "GET", "/v1/admin/decisions/nope")->status == 404);

  r = fx.Call(Role::kAuditor, "GET", "/v1/admin/decisions/export?format=csv&effect=allow");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->get_header_value("X-Tos-Rows") == "4");
  r = fx.Call(Role::kAuditor, "GET", "/v1/admin/decisions/export");
  CHECK(std::count(r->body.begin(), r->body.end(), '\n') >= 5);

  r = fx.Call(Role::kAuditor, "POST", "/v1/admin/decisions/verify");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(AdminFixture::J(r)["ok"] == true);
}

TEST_CASE("admin events: every recorded call lands in the audit store as effect admin") {
  AdminFixture fx;
  const uint64_t before = fx.AuditRows();
  CHECK(fx.Call(Role::kAdmin, "POST", "/v1/admin/accounts", R"({"id": "e1"})")->status == 201);
  CHECK(fx.Call(Role::kAdmin, "POST", "/v1/admin/accounts/e1/suspend")->status == 200);
  CHECK(fx.Call(Role::kViewer, "GET", "/v1/admin/accounts/e1")->status == 200);  // reads are not
  CHECK(fx.Call(Role::kAuditor, "POST", "/v1/admin/evaluate", R"({"path": "/"})")->status == 200);  // nor dry runs
  CHECK(fx.AuditRows() == before + 2);
  auto j = AdminFixture::J(fx.Call(Role::kAuditor, "GET", "/v1/admin/decisions?effect=admin"));
  REQUIRE(j["decisions"].size() == 2);
  CHECK(j["decisions"][1]["operation"] == "admin.accounts.suspend");
  CHECK(j["decisions"][1]["account"] == "admin:admin-token");
  CHECK(j["decisions"][1]["path"] == "/v1/admin/accounts/e1/suspend");
}

TEST_CASE("admin metrics: Prometheus text with decisions by rule, latency and reloads") {
  AdminFixture fx;
  AdminMetrics& m = fx.metrics;
  engine::AuditRecord rec;
  rec.effect = Effect::kDeny;
  rec.rule_ids = {"purpose.no-model-training"};
  rec.latency_us = 7;
  m.ObserveDecision(rec);
  m.RecordReload(false, "files changed", "p.yaml:3:1: bad");
  auto r = fx.Call(Role::kViewer, "GET", "/metrics");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->get_header_value("Content-Type").find("text/plain; version=0.0.4") == 0);
  const std::string& t = r->body;
  CHECK(t.find("tosgate_rule_decisions_total{effect=\"deny\",rule=\"purpose.no-model-training\"} 1\n") != std::string::npos);
  CHECK(t.find("tosgate_check_latency_seconds_bucket{le=\"1e-05\"} 1\n") != std::string::npos);
  CHECK(t.find("tosgate_check_latency_seconds_count 1\n") != std::string::npos);
  CHECK(t.find("tosgate_policy_reload_failures_total 1\n") != std::string::npos);
  CHECK(t.find("tosgate_policy_revision_info{revision=\"rev-test-1\"} 1\n") != std::string::npos);
  auto ready = AdminFixture::J(fx.Client().Get("/readyz"));
  CHECK(ready["status"] == "ready");
  CHECK(ready["policy_reload"] == "failed");
  CHECK(ready["policy_reload_error"] == "files changed: p.yaml:3:1: bad");
}

}  // namespace
}  // namespace tosgate::api::admin
