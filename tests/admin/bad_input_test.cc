// Bad input: each is a 4xx problem+json and leaves the state as it was.
#include <doctest/doctest.h>

#include "tests/admin/fixture.h"

namespace tosgate::api::admin {
namespace {

using test::AdminFixture;

void CheckProblem(const httplib::Result& r, int status, const std::string& reason) {
  REQUIRE(r);
  INFO(r->body);
  CHECK(r->status == status);
  CHECK(r->get_header_value("Content-Type") == "application/problem+json");
  CHECK(nlohmann::json::parse(r->body, nullptr, false).value("reason", "") == reason);
}

TEST_CASE("admin bad input: malformed JSON, unknown fields, traversal, oversize, roles; nothing changes") {
  AdminServerOptions opts;
  opts.max_body_bytes = 64 * 1024;
  AdminFixture fx(opts);
  Account acct;
  acct.id = "a1";
  acct.tier = "free";
  REQUIRE(fx.registry->AddAccount(acct).ok());
  const uint64_t rows = fx.AuditRows();

  CheckProblem(fx.Call(Role::kAdmin, "POST", "/v1/admin/policies", R"({"files": {)"), 400, "bad-json");
  CheckProblem(fx.Call(Role::kAdmin, "POST", "/v1/admin/policies", "[1]"), 400, "bad-json");
  CheckProblem(fx.Call(Role::kAdmin, "POST", "/v1/admin/policies",
                       nlohmann::json({{"files", {{"p.yaml", test::PolicyYaml(1)}}}, {"colour", "red"}}).dump()),
               400, "unknown-field");
  for (const char* name : {"../etc/passwd.yaml", "/abs.yaml", "a/../../b.yaml", ".hidden.yaml", "a\\b.yaml", "a//b.yaml"})
    CheckProblem(fx.Call(Role::kAdmin, "POST", "/v1/admin/policies",
                         nlohmann::json({{"files", {{name, test::PolicyYaml(1)}}}}).dump()),
                 400, "bad-file-name");
  CheckProblem(fx.Call(Role::kAdmin, "POST", "/v1/admin/policies",
                       nlohmann::json({{"files", {{"p.yaml", std::string(100 * 1024, 'x')}}}}).dump()),
               413, "body-too-large");
  CheckProblem(fx.Call(Role::kAdmin, "PATCH", "/v1/admin/accounts/a1", R"({"tier": "pro", "id": "a2"})"), 400,
               "unknown-field");
  CheckProblem(fx.Call(Role::kAdmin, "PATCH", "/v1/admin/accounts/a1", R"({"tier": 5})"), 400, "bad-account");
  CheckProblem(fx.Call(Role::kAuditor, "GET", "/v1/admin/decisions?acount=a1"), 400, "unknown-parameter");
  CheckProblem(fx.Call(Role::kAuditor, "GET", "/v1/admin/decisions?since=yesterday"), 400, "bad-parameter");
  CheckProblem(fx.Call(Role::kViewer, "POST", "/v1/admin/policies/rollback"), 403, "forbidden");
  CheckProblem(fx.Call(Role::kPolicyAuthor, "POST", "/v1/admin/accounts/a1/suspend"), 403, "forbidden");
  CheckProblem(fx.Client().Post("/v1/admin/accounts", R"({"id": "a3"})", "application/json"), 401, "unauthorized");
  // An unauthenticated upload is refused before its body is read, whatever its size.
  CheckProblem(fx.Client().Post("/v1/admin/policies", std::string(200 * 1024, 'x'), "application/json"), 401,
               "unauthorized");
  CheckProblem(fx.Call(Role::kAdmin, "GET", "/v1/admin/policies/validate"), 405, "method-not-allowed");
  CheckProblem(fx.Call(Role::kAdmin, "GET", "/v1/admin/nope"), 404, "not-found");
  CheckProblem(fx.Call(Role::kAdmin, "POST", "/v1/admin/policies/1%27;DROP/activate"), 400, "bad-id");

  CHECK(fx.versions->List(10)->empty());
  CHECK(fx.te.engine.snapshot()->revision == "rev-test-1");
  auto a = fx.registry->GetAccount("a1");
  CHECK(a->tier == "free");
  CHECK_FALSE(a->suspended);
  CHECK_FALSE(fx.registry->GetAccount("a3").ok());
  // Refused mutations that got past authentication are still recorded
  // (who tried what); unauthenticated ones are not: no caller to name.
  CHECK(fx.AuditRows() > rows);
}

}  // namespace
}  // namespace tosgate::api::admin
