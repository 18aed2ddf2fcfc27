// The policy test runner: parsing test files strictly, running them against a
// policy set with isolated state and a driven clock, and reporting results
// and coverage. The builder here fills the Request by hand; the CLI's real
// one (api::RequestFromDescription) is run on the shipped pack by
// scripts/test.sh.
#include <doctest/doctest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "engine/accounts.h"
#include "policies/test_runner.h"
#include "test_support.h"

using namespace tosgate;

namespace {

const std::string kPolicy = test::kHead + R"(operations:
  chat: {paths: [/v1/chat]}
rules:
  - id: purpose.deny
    kind: attribute
    when: {field: request.purpose, eq: training}
    action: deny
    reason: no-training
  - id: rate.small
    kind: rate_limit
    scope: [account]
    limit: {requests: 2, per: 1m}
    action: throttle
  - id: never.matched
    kind: attribute
    when: {field: request.purpose, eq: never}
    action: deny
)";

std::shared_ptr<const engine::PolicySnapshot> Snapshot() {
  policies::LoadResult r = test::LoadOne(kPolicy);
  INFO(test::AllErrors(r));
  REQUIRE(r.snapshot);
  return r.snapshot;
}

Status Build(const policies::TestRequest& t, Request* out) {
  out->method = t.method;
  out->path = t.path;
  out->client_ip = t.client_ip;
  if (!t.key.empty()) out->key_id = engine::KeyId(t.key);
  for (const auto& [k, v] : t.headers) {
    out->headers.emplace_back(k, v);
    if (k == "x-usage-purpose") out->purpose = v;
  }
  return Status::Ok();
}

struct Run {
  policies::TestReport report;
  std::string out;
};

Run RunTests(const std::string& yaml, const std::string& name = "t.test.yaml") {
  std::ostringstream out;
  Run r;
  r.report = policies::RunPolicyTests(Snapshot(), {{name, yaml}}, Build, out);
  r.out = out.str();
  return r;
}

bool Has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

const std::string kAccounts = "accounts: [{id: a1, tier: free, keys: [sk-a1]}, {id: a2, tier: free, keys: [sk-a2]}]\n";

}  // namespace

TEST_CASE("test runner: passing and failing expectations are reported") {
  Run r = RunTests(kAccounts + R"(tests:
  - name: training is denied
    request: {path: /v1/chat, key: sk-a1, headers: {x-usage-purpose: training}}
    expect: {effect: deny, rules: [purpose.deny], status: 403, reason: no-training}
  - name: wrongly expects allow
    request: {path: /v1/chat, key: sk-a1, headers: {x-usage-purpose: training}}
    expect: {effect: allow, rules: [], status: 200, reason: other}
)");
  INFO(r.out);
  CHECK(r.report.passed == 1);
  CHECK(r.report.failed == 1);
  CHECK(r.report.errors.empty());
  CHECK(r.report.ExitCode() == 1);
  CHECK(Has(r.out, "PASS training is denied\n"));
  CHECK(Has(r.out, "FAIL wrongly expects allow\n  t.test.yaml:6:5: at 0s\n"));
  CHECK(Has(r.out, "    effect: expected allow, got deny\n"));
  CHECK(Has(r.out, "    rules: expected [], got [purpose.deny]\n"));
  CHECK(Has(r.out, "    status: expected 200, got 403\n"));
  CHECK(Has(r.out, "    reason: expected 'other', got 'no-training'\n"));
  CHECK(Has(r.out, "    decision:\n      "));
  CHECK(Has(r.out, "\n1 passed, 1 failed\n"));
}

TEST_CASE("test runner: every test starts from empty state") {
  Run r = RunTests(kAccounts + R"(tests:
  - name: the third request is throttled
    sequence:
      - {repeat: 2, request: {path: /v1/chat, key: sk-a1}, expect: {effect: allow}}
      - {request: {path: /v1/chat, key: sk-a1}, expect: {effect: throttle, rules: [rate.small], status: 429}}
  - name: the next test starts afresh
    sequence:
      - {repeat: 2, request: {path: /v1/chat, key: sk-a1}, expect: {effect: allow}}
)");
  INFO(r.out);
  CHECK(r.report.passed == 2);
  CHECK(r.report.failed == 0);
  CHECK(r.report.ExitCode() == 0);
}

TEST_CASE("test runner: 'at' offsets drive the clock") {
  Run r = RunTests(kAccounts + R"(tests:
  - name: the window passes
    sequence:
      - {repeat: 2, at: 0s, request: {path: /v1/chat, key: sk-a1}, expect: {effect: allow}}
      - {at: 30s, request: {path: /v1/chat, key: sk-a1}, expect: {effect: throttle}}
      - {at: 3m, request: {path: /v1/chat, key: sk-a1}, expect: {effect: allow}}
  - name: without time passing the limit holds
    sequence:
      - {repeat: 2, request: {path: /v1/chat, key: sk-a1}, expect: {effect: allow}}
      - {at: 5s, repeat: 2, request: {path: /v1/chat, key: sk-a1}, expect: {effect: allow}}
)");
  INFO(r.out);
  CHECK(r.report.passed == 1);
  CHECK(r.report.failed == 1);
  CHECK(Has(r.out, "PASS the window passes\n"));
  CHECK(Has(r.out, "FAIL without time passing the limit holds\n"));
  CHECK(Has(r.out, "step 2 of 2, request 1 of 2, at 5s\n"));
}

TEST_CASE("test runner: headers are compared by name case-insensitively and value exactly") {
  Run r = RunTests(kAccounts + R"(tests:
  - name: header present
    sequence:
      - {repeat: 2, request: {path: /v1/chat, key: sk-a1}, expect: {effect: allow}}
      - {request: {path: /v1/chat, key: sk-a1}, expect: {headers: {retry-after: "nope"}}}
  - name: header absent
    request: {path: /v1/chat, key: sk-a1}
    expect: {headers: {Retry-After: "1"}}
)");
  INFO(r.out);
  CHECK(r.report.failed == 2);
  CHECK(Has(r.out, "    header retry-after: expected 'nope', got '"));
  CHECK(Has(r.out, "    header Retry-After: expected '1', got none\n"));
}

TEST_CASE("test runner: an unknown rule id in expect is an error with its location") {
  Run r = RunTests(kAccounts + R"(tests:
  - name: names a rule that does not exist
    request: {path: /v1/chat, key: sk-a1}
    expect: {effect: allow, rules: [purpose.deny, no.such.rule]}
)");
  INFO(r.out);
  CHECK(r.report.ExitCode() == 2);
  REQUIRE(r.report.errors.size() == 1);
  CHECK(r.report.errors[0].ToString() ==
        "t.test.yaml:5:51: tests[0].expect.rules[1]: unknown rule 'no.such.rule' (not in the policy set)");
  CHECK(Has(r.out, "ERROR names a rule that does not exist\n"));
  CHECK(Has(r.out, "0 passed, 1 failed\n"));
}

TEST_CASE("test runner: coverage lists the rules no decision matched") {
  Run r = RunTests(kAccounts + R"(tests:
  - name: training
    request: {path: /v1/chat, key: sk-a1, headers: {x-usage-purpose: training}}
    expect: {effect: deny}
)");
  INFO(r.out);
  CHECK(r.report.uncovered == std::vector<std::string>{"rate.small", "never.matched"});
  CHECK(Has(r.out, "1 passed, 0 failed\nuncovered rules: rate.small, never.matched\n"));

  policies::LoadResult one = test::LoadOne(test::kHead + R"(rules:
  - {id: only, kind: attribute, when: {field: request.purpose, eq: x}, action: deny}
)");
  REQUIRE(one.snapshot);
  std::ostringstream out;
  policies::TestReport rep = policies::RunPolicyTests(
      one.snapshot, {{"a.test.yaml", "tests: [{name: n, request: {path: /, headers: {x-usage-purpose: x}}, expect: {effect: deny}}]"}},
      Build, out);
  CHECK(rep.uncovered.empty());
  CHECK(out.str() == "PASS n\n1 passed, 0 failed\nall 1 rules covered\n");
}

TEST_CASE("test files: unknown keys and wrong types are errors with file:line:column") {
  std::vector<policies::Diagnostic> errors;
  policies::ParseTestFile("x.test.yaml", R"(accounts: [{id: a1, tier: free, suspended: maybe}]
tests:
  - name: one
    request: {path: /v1/chat, colour: red}
    expect: {effect: permit, status: abc}
  - name: two
    sequence:
      - {at: 10s, request: {path: /}, expect: {}}
      - {at: 5s, repeat: 0, request: {path: /}, expect: {}}
extra: 1
)", &errors);
  std::string all;
  for (const auto& d : errors) all += d.ToString() + "\n";
  INFO(all);
  CHECK(Has(all, "x.test.yaml:1:44: accounts[0].suspended: must be true or false\n"));
  CHECK(Has(all, "x.test.yaml:4:31: tests[0].request.colour: unknown key"));
  CHECK(Has(all, "x.test.yaml:5:22: tests[0].expect.effect: must be allow, deny or throttle\n"));
  CHECK(Has(all, "x.test.yaml:5:38: tests[0].expect.status: must be an integer"));
  CHECK(Has(all, "x.test.yaml:9:14: tests[1].sequence[1].at: is before the previous step's time"));
  CHECK(Has(all, "x.test.yaml:9:26: tests[1].sequence[1].repeat: must be an integer from 1"));
  CHECK(Has(all, "x.test.yaml:10:1: extra: unknown key"));

  errors.clear();
  policies::ParseTestFile("y.test.yaml", "tests: [{name: a, request: {path: /}, expect: {}}\n", &errors);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].line >= 1);

  std::ostringstream out;
  policies::TestReport rep = policies::RunPolicyTests(Snapshot(), {{"y.test.yaml", "tests: 3\n"}}, Build, out);
  CHECK(rep.ExitCode() == 2);
  CHECK(Has(out.str(), "ERROR y.test.yaml:1:8: tests: must be a list of tests\n"));
}

TEST_CASE("test files: accounts, request defaults and the body as JSON") {
  std::vector<policies::Diagnostic> errors;
  policies::TestFile tf = policies::ParseTestFile("b.test.yaml", R"(accounts:
  - {id: a1, org: o1, tier: pro, country: DE, flags: [x, y], suspended: true, created: 2025-03-01, keys: [sk-1, sk-2]}
  - {id: a2, created: 1700000000000}
tests:
  - name: body
    request:
      path: /v1/chat
      body: {s: "a \"q\" \\ b", plain: hello, n: 42, neg: -7, f: 1.5, e: 1e3, t: true, nul: null, q: "12",
             list: [1, two, {k: false}], nested: {empty: [], map: {}}, tab: "a\tb", zero: 007}
    expect: {}
)", &errors);
  REQUIRE(errors.empty());
  REQUIRE(tf.accounts.size() == 2);
  const Account& a = tf.accounts[0];
  CHECK(a.org == "o1");
  CHECK(a.tier == "pro");
  CHECK(a.country == "DE");
  CHECK(a.flags == std::vector<std::string>{"x", "y"});
  CHECK(a.suspended);
  CHECK(a.created_ms == 1'740'787'200'000);  // 2025-03-01T00:00:00Z
  CHECK(a.key_ids == std::vector<std::string>{engine::KeyId("sk-1"), engine::KeyId("sk-2")});
  CHECK(tf.accounts[1].created_ms == 1'700'000'000'000);
  REQUIRE(tf.tests.size() == 1);
  const policies::TestRequest& r = tf.tests[0].steps[0].request;
  CHECK(r.method == "POST");
  CHECK(r.client_ip == "127.0.0.1");
  CHECK(r.key.empty());
  CHECK(r.body ==
        R"({"s":"a \"q\" \\ b","plain":"hello","n":42,"neg":-7,"f":1.5,"e":1000,"t":true,"nul":null,"q":"12",)"
        R"("list":[1,"two",{"k":false}],"nested":{"empty":[],"map":{}},"tab":"a\tb","zero":7})");
}

TEST_CASE("test files: the default pack's tests parse and name only its rules") {
  const std::string dir = TOSGATE_SOURCE_DIR "/policies/packs/default";
  policies::LoadResult pack = policies::LoadPolicyDir(dir, test::WithBuiltinPacks());
  REQUIRE(pack.snapshot);
  std::ifstream f(dir + "/default.test.yaml");
  std::stringstream text;
  text << f.rdbuf();
  std::vector<policies::Diagnostic> errors;
  policies::TestFile tf = policies::ParseTestFile("default.test.yaml", text.str(), &errors);
  std::string all;
  for (const auto& d : errors) all += d.ToString() + "\n";
  INFO(all);
  CHECK(errors.empty());
  // Every rule of the pack's own file is expected somewhere; the rules of
  // the packs it imports may be too (their own tests cover them).
  std::set<std::string> named, own, in_set;
  for (const auto& r : pack.snapshot->rules) {
    in_set.insert(r->common().id);
    if (r->common().source.rfind(dir + "/policy.yaml:", 0) == 0) own.insert(r->common().id);
  }
  own.insert("settings.unmatched_operation");  // a refusal without a rule, tested too
  in_set.insert("settings.unmatched_operation");
  for (const auto& t : tf.tests)
    for (const auto& s : t.steps)
      if (s.expect.rules) named.insert(s.expect.rules->begin(), s.expect.rules->end());
  for (const std::string& id : own) CHECK_MESSAGE(named.count(id) == 1, id);
  for (const std::string& id : named) CHECK_MESSAGE(in_set.count(id) == 1, id);
}
