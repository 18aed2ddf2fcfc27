#include <doctest/doctest.h>

#include "api/admin/diff.h"
#include "tests/admin/fixture.h"

namespace tosgate::api::admin {
namespace {

TEST_CASE("admin policies: upload, activate, list, diff, roll back") {
  test::AdminFixture fx;
  auto r = fx.Call(Role::kPolicyAuthor, "POST", "/v1/admin/policies",
                   nlohmann::json({{"files", {{"base.yaml", test::PolicyYaml(5)}}}, {"message", "five"}}).dump());
  REQUIRE(r);
  REQUIRE_MESSAGE(r->status == 201, r->body);
  auto v1 = test::AdminFixture::J(r)["version"];
  CHECK(v1["id"] == 1);
  CHECK(v1["author"] == "policy-author-token");
  CHECK(v1["sha256"].get<std::string>().size() == 64);
  CHECK(fx.te.engine.snapshot()->revision == "rev-test-1");  // uploaded, not active

  r = fx.Call(Role::kPolicyAuthor, "POST", "/v1/admin/policies/1/activate");
  REQUIRE(r);
  CHECK(r->status == 200);
  const std::string rev1 = fx.te.engine.snapshot()->revision;
  CHECK(rev1 == v1["revision"]);

  r = fx.Call(Role::kAdmin, "POST", "/v1/admin/policies",
              nlohmann::json({{"files", {{"base.yaml", test::PolicyYaml(9)}}}, {"activate", true}}).dump());
  REQUIRE(r);
  CHECK(r->status == 201);
  CHECK(test::AdminFixture::J(r)["active"] == true);
  CHECK(fx.te.engine.snapshot()->revision != rev1);

  auto list = test::AdminFixture::J(fx.Call(Role::kViewer, "GET", "/v1/admin/policies"));
  CHECK(list["versions"].size() == 2);
  CHECK(list["active"] == 2);

  r = fx.Call(Role::kViewer, "GET", "/v1/admin/policies/1/diff?to=2");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body.find("--- a/base.yaml\n+++ b/base.yaml\n") == 0);
  CHECK(r->body.find("-    limit: {requests: 5, per: 1m}\n+    limit: {requests: 9, per: 1m}\n") !=
        std::string::npos);

  r = fx.Call(Role::kPolicyAuthor, "POST", "/v1/admin/policies/rollback");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(test::AdminFixture::J(r)["active"] == 1);
  CHECK(fx.te.engine.snapshot()->revision == rev1);
  auto hist = test::AdminFixture::J(fx.Call(Role::kViewer, "GET", "/v1/admin/policies/history"));
  CHECK(hist["activations"].size() == 3);
  CHECK(hist["activations"][0]["kind"] == "rollback");
  CHECK(fx.metrics.reloads() == 3);
  auto one = test::AdminFixture::J(fx.Call(Role::kViewer, "GET", "/v1/admin/policies/2"));
  CHECK(one["files"]["base.yaml"] == test::PolicyYaml(9));
}

TEST_CASE("admin policies: an invalid bundle lists every error with file:line:column and changes nothing") {
  test::AdminFixture fx;
  const std::string bad =
      "apiVersion: tosgate/v1\nkind: Policy\nmetadata: {name: t}\nrules:\n"
      "  - {id: a, kind: nope}\n  - {id: b, kind: rate_limit, scope: [account], limit: {requests: 5, per: 1y}}\n";
  auto r = fx.Call(Role::kPolicyAuthor, "POST", "/v1/admin/policies/validate",
                   nlohmann::json({{"files", {{"p.yaml", bad}}}}).dump());
  REQUIRE(r);
  CHECK(r->status == 200);
  auto j = test::AdminFixture::J(r);
  CHECK(j["valid"] == false);
  REQUIRE(j["errors"].size() >= 2);
  CHECK(j["errors"][0]["file"] == "p.yaml");
  CHECK(j["errors"][0]["line"] == 5);
  CHECK(j["errors"][0]["column"].get<int>() > 0);

  r = fx.Call(Role::kPolicyAuthor, "POST", "/v1/admin/policies",
              nlohmann::json({{"files", {{"p.yaml", bad}}}, {"activate", true}}).dump());
  REQUIRE(r);
  CHECK(r->status == 422);
  CHECK(r->get_header_value("Content-Type") == "application/problem+json");
  CHECK(test::AdminFixture::J(r)["errors"].size() >= 2);
  CHECK(fx.versions->List(10)->empty());
  CHECK(fx.te.engine.snapshot()->revision == "rev-test-1");

  j = test::AdminFixture::J(fx.Call(Role::kPolicyAuthor, "POST", "/v1/admin/policies/validate",
                                    nlohmann::json({{"files", {{"p.yaml", test::PolicyYaml(3)}}}}).dump()));
  CHECK(j["valid"] == true);
  CHECK(j["errors"].empty());
}

TEST_CASE("admin policies: a bundle imports packs by name and its own files by path") {
  test::AdminFixture fx;
  const std::string head = "apiVersion: tosgate/v1\nkind: Policy\nmetadata: {name: t}\n";
  const nlohmann::json files = {
      {"set/main.yaml", head + "imports: [{pack: ops}, {path: ../shared/rules.yaml}]\n"},
      {"shared/rules.yaml", head + "rules:\n  - {id: r, kind: attribute, match: {operations: [chat]}, "
                                   "when: {field: body.n, gt: 1}, action: deny}\n"}};
  auto j = test::AdminFixture::J(fx.Call(Role::kPolicyAuthor, "POST", "/v1/admin/policies/validate",
                                         nlohmann::json({{"files", files}}).dump()));
  INFO(j.dump());
  CHECK(j["valid"] == true);

  j = test::AdminFixture::J(fx.Call(
      Role::kPolicyAuthor, "POST", "/v1/admin/policies/validate",
      nlohmann::json({{"files", {{"p.yaml", head + "imports: [{pack: nope}, {path: ../outside.yaml}]\n"}}}}).dump()));
  INFO(j.dump());
  CHECK(j["valid"] == false);
  REQUIRE(j["errors"].size() == 2);
  CHECK(j["errors"][0]["text"] == "p.yaml:4:18: imports[0].pack: unknown pack \"nope\"; the packs are: ops");
  CHECK(j["errors"][1]["key"] == "imports[1].path");
}

TEST_CASE("admin policies: rollback with nothing before is a 409") {
  test::AdminFixture fx;
  auto r = fx.Call(Role::kAdmin, "POST", "/v1/admin/policies/rollback");
  REQUIRE(r);
  CHECK(r->status == 409);
  CHECK(test::AdminFixture::J(r)["reason"] == "nothing-to-roll-back-to");
  r = fx.Call(Role::kAdmin, "POST", "/v1/admin/policies/7/activate");
  CHECK(r->status == 404);
}

TEST_CASE("diff: unified hunks with context, added and deleted files") {
  const std::string a = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n";
  const std::string b = "1\n2\n3\n4\nfive\n6\n7\n8\n9\n10\neleven\n";
  CHECK(UnifiedDiff("f", &a, &b) ==
        "--- a/f\n+++ b/f\n@@ -2,9 +2,10 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n 9\n 10\n+eleven\n");
  // Changes more than 2 x 3 lines apart are separate hunks.
  const std::string d = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n";
  const std::string e = "one\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\ntwelve\n";
  CHECK(UnifiedDiff("f", &d, &e) ==
        "--- a/f\n+++ b/f\n@@ -1,4 +1,4 @@\n-1\n+one\n 2\n 3\n 4\n@@ -9,4 +9,4 @@\n 9\n 10\n 11\n-12\n+twelve\n");
  CHECK(UnifiedDiff("f", &a, &a).empty());
  const std::string c = "x\n";
  CHECK(UnifiedDiff("n", nullptr, &c) == "--- /dev/null\n+++ b/n\n@@ -0,0 +1 @@\n+x\n");
  CHECK(DiffFileSets({{"gone", "x\n"}}, {}) == "--- a/gone\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n");
}

}  // namespace
}  // namespace tosgate::api::admin
