// Every kind of policy error names file, line, column and key path. Lines
// and columns are 1-based; kHead takes lines 1-3, so `rules:` is line 4 and
// the first rule starts on line 5.
#include <doctest/doctest.h>

#include "test_support.h"

using namespace tosgate;
using policies::LoadPolicyFiles;
using test::AllErrors;
using test::HasError;
using test::kHead;
using test::LoadOne;

namespace {

// One rule after kHead and "rules:", written as its lines after "  - id: r".
policies::LoadResult Rule(const std::string& lines) {
  return LoadOne(kHead + "rules:\n  - id: r\n" + lines);
}

// Asserts the set failed with exactly one diagnostic, rendered as `expected`.
void ExpectOnly(const policies::LoadResult& r, const std::string& expected) {
  CHECK_FALSE(r.snapshot);
  INFO(AllErrors(r));
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].ToString() == expected);
}

}  // namespace

TEST_CASE("diagnostics render as file:line:column: key: message") {
  policies::Diagnostic d{"a.yaml", 3, 7, "rules[0].mode", "expected enforce or shadow"};
  CHECK(d.ToString() == "a.yaml:3:7: rules[0].mode: expected enforce or shadow");
  CHECK(policies::Diagnostic{"a.yaml", 2, 1, "", "bad"}.ToString() == "a.yaml:2:1: bad");
  CHECK(policies::Diagnostic{"dir", 0, 0, "", "missing"}.ToString() == "dir: missing");
}

TEST_CASE("an unknown key is reported where the key is, with the keys that are known") {
  auto r = Rule("    kind: attribute\n    when: {field: request.purpose, eq: x}\n    colour: red\n");
  ExpectOnly(r, "p.yaml:8:5: rules[0].colour: unknown key; expected one of: id, kind, description, "
                "mode, match, action, reason, when");
  ExpectOnly(LoadOne(kHead + "rulez: []\n"),
             "p.yaml:4:1: rulez: unknown key; expected one of: apiVersion, kind, metadata, imports, "
             "settings, identity, operations, lists, prices, rules, overrides");
}

TEST_CASE("a value of the wrong type names the type it found") {
  ExpectOnly(Rule("    kind: rate_limit\n    scope: {account: true}\n    limit: {requests: 5, per: 1m}\n"),
             "p.yaml:7:12: rules[0].scope: expected a list, got a map");
  ExpectOnly(Rule("    kind: rate_limit\n    limit: {requests: many, per: 1m}\n"),
             "p.yaml:7:23: rules[0].limit.requests: expected a whole number, got \"many\"");
  ExpectOnly(LoadOne(kHead + "rules: {id: r}\n"), "p.yaml:4:8: rules: expected a list, got a map");
  ExpectOnly(Rule("    kind: attribute\n    description:\n    when: {field: body.n, gt: 1}\n"),
             "p.yaml:7:5: rules[0].description: expected a string, got nothing");
}

TEST_CASE("bad durations name the key path down to the tier") {
  ExpectOnly(Rule("    kind: rate_limit\n    limit:\n      free: {requests: 5, per: 1x}\n"),
             "p.yaml:8:32: rules[0].limit.free.per: bad duration \"1x\": unknown unit \"x\" "
             "(use ms, s, m, h or d)");
  auto zero = Rule("    kind: rate_limit\n    limit: {requests: 5, per: 0s}\n");
  CHECK(HasError(zero, "p.yaml:7:31: rules[0].limit.per: bad duration \"0s\": must be greater"));
}

TEST_CASE("bad enum values list the allowed ones") {
  ExpectOnly(Rule("    kind: attribute\n    mode: sometimes\n    when: {field: body.n, gt: 1}\n"),
             "p.yaml:7:11: rules[0].mode: expected enforce or shadow, got \"sometimes\"");
  ExpectOnly(LoadOne(kHead + "settings: {failure_mode: maybe}\n"),
             "p.yaml:4:26: settings.failure_mode: expected open or closed, got \"maybe\"");
  ExpectOnly(Rule("    kind: attribute\n    action: block\n    when: {field: body.n, gt: 1}\n"),
             "p.yaml:7:13: rules[0].action: expected deny, throttle or flag, got \"block\"");
}

TEST_CASE("missing required keys are reported at the map that lacks them") {
  ExpectOnly(LoadOne(kHead + "rules:\n  - kind: attribute\n    when: {field: body.n, gt: 1}\n"),
             "p.yaml:5:5: rules[0].id: required key is missing");
  ExpectOnly(Rule("    kind: attribute\n"), "p.yaml:5:5: rules[0].when: required key is missing");
  ExpectOnly(Rule("    when: {field: body.n, gt: 1}\n"),
             "p.yaml:5:5: rules[0].kind: required key is missing");
  ExpectOnly(Rule("    kind: rate_limit\n    limit: {per: 1m}\n"),
             "p.yaml:7:12: rules[0].limit.requests: required key is missing");
  ExpectOnly(LoadOne("kind: Policy\nmetadata: {name: t}\n"),
             "p.yaml:1:1: apiVersion: required key is missing");
}

TEST_CASE("rule ids and reasons are code names") {
  ExpectOnly(LoadOne(kHead + "rules:\n  - {id: 'no spaces', kind: attribute, when: {field: body.n, gt: 1},"
                             " reason: ok.reason}\n"),
             "p.yaml:5:10: rules[0].id: id \"no spaces\" may hold only letters, digits, '.', '_' "
             "and '-', and not be empty");
  ExpectOnly(Rule("    kind: attribute\n    when: {field: body.n, gt: 1}\n    reason: \"a/b\"\n"),
             "p.yaml:8:13: rules[0].reason: reason \"a/b\" may hold only letters, digits, '.', '_' "
             "and '-', and not be empty");
}

TEST_CASE("an unknown kind names the kinds there are") {
  ExpectOnly(Rule("    kind: quota\n    limit: 5\n"),
             "p.yaml:6:11: rules[0].kind: unknown kind \"quota\"; expected attribute, rate_limit, token_budget, cost_budget, content, competitor_training, guard, indicators");
}

TEST_CASE("duplicate rule ids are reported at the second, naming the first") {
  auto same_file = LoadOne(kHead + "rules:\n"
                                   "  - {id: dup, kind: attribute, when: {field: body.n, gt: 1}}\n"
                                   "  - {id: dup, kind: attribute, when: {field: body.n, gt: 2}}\n");
  ExpectOnly(same_file, "p.yaml:6:10: rules[1].id: duplicate rule id \"dup\"; first defined at p.yaml:5");

  const std::string rule = kHead + "rules:\n  - id: dup\n    kind: attribute\n"
                                   "    when: {field: body.n, gt: 1}\n";
  auto across = LoadPolicyFiles({{"b.yaml", rule}, {"a.yaml", rule}});
  ExpectOnly(across, "b.yaml:5:9: rules[0].id: duplicate rule id \"dup\"; first defined at a.yaml:5");
}

TEST_CASE("unknown condition fields and literals of the wrong type are errors") {
  ExpectOnly(Rule("    kind: attribute\n    when: {field: body.temperature, gt: 1}\n"),
             "p.yaml:7:19: rules[0].when.field: unknown field \"body.temperature\"; fields start "
             "with request., account., body. or time. (see docs/policy-reference.md)");
  ExpectOnly(Rule("    kind: attribute\n    when: {field: body.n, eq: \"x\"}\n"),
             "p.yaml:7:31: rules[0].when.eq: body.n is a number, got the string \"x\"");
  ExpectOnly(Rule("    kind: attribute\n    when: {field: request.purpose, gt: 1}\n"),
             "p.yaml:7:40: rules[0].when.gt: gt needs a number field; request.purpose is a string");
  ExpectOnly(Rule("    kind: attribute\n    when: {field: body.stream, eq: yes}\n"),
             "p.yaml:7:36: rules[0].when.eq: body.stream is a boolean (true or false), got \"yes\"");
  ExpectOnly(Rule("    kind: attribute\n    when: {field: body.n, in: [1, two]}\n"),
             "p.yaml:7:35: rules[0].when.in[1]: body.n is a number, got \"two\"");
}

TEST_CASE("malformed address ranges are errors at the range") {
  ExpectOnly(Rule("    kind: attribute\n"
                  "    when: {field: request.client_ip, cidr: [10.0.0.0/8, 10.0.0.0/33]}\n"),
             "p.yaml:7:57: rules[0].when.cidr[1]: bad address range \"10.0.0.0/33\"; expected e.g. "
             "10.0.0.0/8, 2001:db8::/32 or one address");
  CHECK(HasError(Rule("    kind: attribute\n    when: {field: account.country, cidr: 10.0.0.0/8}\n"),
                 "p.yaml:7:42: rules[0].when.cidr: cidr needs request.client_ip"));
}

TEST_CASE("a comparison has exactly one operator, and matches is not supported") {
  ExpectOnly(Rule("    kind: attribute\n    when: {field: body.n, gt: 1, lt: 5}\n"),
             "p.yaml:7:38: rules[0].when.lt: a comparison has exactly one operator; this one also "
             "has gt");
  ExpectOnly(Rule("    kind: attribute\n    when: {field: request.purpose, matches: x}\n"),
             "p.yaml:7:45: rules[0].when.matches: the matches operator is not supported; match text "
             "with a rule of kind: content (docs/content-rules.md)");
  ExpectOnly(Rule("    kind: attribute\n    when: {field: body.n}\n"),
             "p.yaml:7:11: rules[0].when: a comparison needs one operator: eq, in, gt, lt, exists "
             "or cidr");
  CHECK(HasError(Rule("    kind: attribute\n    when: {all: [], any: []}\n"),
                 "p.yaml:7:11: rules[0].when: a condition is one of"));
  ExpectOnly(Rule("    kind: attribute\n    when: {any: []}\n"),
             "p.yaml:7:17: rules[0].when.any: any needs at least one condition");
}

TEST_CASE("match.operations must name operations defined in the set") {
  auto r = LoadOne(kHead + "operations:\n  chat: {paths: [/v1/chat/completions]}\nrules:\n"
                           "  - id: r\n    kind: attribute\n    match: {operations: [chat, chart]}\n"
                           "    when: {field: body.n, gt: 1}\n");
  ExpectOnly(r, "p.yaml:9:32: rules[0].match.operations[1]: operation \"chart\" is not defined; "
                "define it under operations: in a file of this policy set");
}

TEST_CASE("settings and identity may be set by one file only") {
  auto r = LoadPolicyFiles({{"a.yaml", kHead + "settings: {mode: enforce}\n"},
                            {"b.yaml", kHead + "settings: {mode: shadow}\nidentity: {}\n"},
                            {"c.yaml", kHead + "identity:\n  unknown_keys: {tier: free}\n"}});
  INFO(AllErrors(r));
  REQUIRE(r.errors.size() == 2);
  CHECK(r.errors[0].ToString() == "b.yaml:4:1: settings: settings is already set at a.yaml:4; at "
                                  "most one file of a set may set it");
  CHECK(r.errors[1].ToString() == "c.yaml:4:1: identity: identity is already set at b.yaml:5; at "
                                  "most one file of a set may set it");
}

TEST_CASE("operations are checked: upper-case methods, paths, unique names across files") {
  auto r = LoadPolicyFiles(
      {{"a.yaml", kHead + "operations:\n  chat: {methods: [post], paths: [v1/chat, /v1/**]}\n"},
       {"b.yaml", kHead + "operations:\n  chat: {paths: [/v1/chat]}\n  emb: {}\n"}});
  INFO(AllErrors(r));
  CHECK(HasError(r, "a.yaml:5:20: operations.chat.methods[0]: method \"post\" must be upper case"));
  CHECK(HasError(r, "a.yaml:5:35: operations.chat.paths[0]: path \"v1/chat\" must start with '/'"));
  CHECK(HasError(r, "a.yaml:5:44: operations.chat.paths[1]: path \"/v1/**\" holds \"**\""));
  CHECK(HasError(r, "b.yaml:5:3: operations.chat: operation \"chat\" is already defined at a.yaml:5"));
  CHECK(HasError(r, "b.yaml:6:8: operations.emb.paths: required key is missing"));
  CHECK(r.errors.size() == 5);
}

TEST_CASE("rate_limit: scope, requests and burst are checked; delay is accepted as throttle") {
  auto bad = Rule("    kind: rate_limit\n    scope: [account, tenant, account]\n"
                  "    limit: {requests: 0, per: 1m, burst: -1}\n");
  INFO(AllErrors(bad));
  CHECK(HasError(bad, "p.yaml:7:22: rules[0].scope[1]: unknown scope \"tenant\""));
  CHECK(HasError(bad, "p.yaml:7:30: rules[0].scope[2]: scope \"account\" is listed twice"));
  CHECK(HasError(bad, "p.yaml:8:23: rules[0].limit.requests: requests must be greater than zero"));
  CHECK(HasError(bad, "p.yaml:8:42: rules[0].limit.burst: burst must be zero or more"));
  CHECK(bad.errors.size() == 4);

  ExpectOnly(Rule("    kind: rate_limit\n    limit: {requests: 5, per: 1m}\n"
                  "    action: {delay: {max: soon}}\n"),
             "p.yaml:8:27: rules[0].action.delay.max: bad duration \"soon\": expected a whole "
             "number and a unit (ms, s, m, h or d), e.g. 30s");
  ExpectOnly(Rule("    kind: attribute\n    when: {field: body.n, gt: 1}\n"
                  "    action: {delay: {max: 2s}}\n"),
             "p.yaml:8:13: rules[0].action: expected deny, throttle or flag, got a map");
  auto delay = Rule("    kind: rate_limit\n    limit: {requests: 5, per: 1m}\n"
                    "    action: {delay: {max: 2s}}\n");
  INFO(AllErrors(delay));
  REQUIRE(delay.snapshot);
  CHECK(delay.snapshot->rules[0]->common().action == Action::kThrottle);
}

TEST_CASE("YAML syntax errors, duplicate keys and second documents are diagnostics") {
  ExpectOnly(LoadOne(kHead + "rules: [\n"), "p.yaml:5:1: end of sequence flow not found");
  ExpectOnly(LoadOne(kHead + "kind: Policy\n"),
             "p.yaml:4:1: kind: duplicate key; first written at line 2");
  ExpectOnly(LoadOne(kHead + "---\n" + kHead),
             "p.yaml:5:1: a policy file holds one YAML document; this is a second one");
  ExpectOnly(LoadOne("- just\n- a list\n"), "p.yaml:1:1: expected a map, got a list");
}

TEST_CASE("empty and comment-only files are skipped") {
  auto r = LoadPolicyFiles({{"a.yaml", ""}, {"b.yaml", "# later\n"}, {"c.yaml", kHead}});
  INFO(AllErrors(r));
  REQUIRE(r.snapshot);
  CHECK(r.files.size() == 3);
  CHECK(r.snapshot->name == "t");
}

TEST_CASE("every error in every file is reported at once, in file and line order") {
  auto r = LoadPolicyFiles({
      {"b.yaml", kHead + "rules:\n  - {id: ok, kind: attribute, when: {field: body.x, gt: 1}}\n"},
      {"a.yaml", kHead + "colour: red\nrules:\n"
                         "  - id: one\n    kind: attribute\n    mode: loud\n"
                         "    when: {field: body.n, eq: many}\n"
                         "  - id: two\n    kind: rate_limit\n    limit: {requests: 5, per: 1y}\n"},
  });
  INFO(AllErrors(r));
  CHECK_FALSE(r.snapshot);
  REQUIRE(r.errors.size() == 5);
  CHECK(r.errors[0].ToString().rfind("a.yaml:4:1: colour: unknown key", 0) == 0);
  CHECK(r.errors[1].ToString().rfind("a.yaml:8:11: rules[0].mode:", 0) == 0);
  CHECK(r.errors[2].ToString() == "a.yaml:9:31: rules[0].when.eq: body.n is a number, got \"many\"");
  CHECK(r.errors[3].ToString().rfind("a.yaml:12:31: rules[1].limit.per: bad duration \"1y\"", 0) == 0);
  CHECK(r.errors[4].ToString().rfind("b.yaml:5:45: rules[0].when.field: unknown field \"body.x\"", 0) == 0);
}

TEST_CASE("hostile input becomes diagnostics, never an exception or a crash") {
  std::string deep = "{field: body.n, gt: 1}";
  for (int i = 0; i < 40; ++i) deep = "{not: " + deep + "}";
  auto nested = Rule("    kind: attribute\n    when: " + deep + "\n");
  CHECK(HasError(nested, "p.yaml:7:"));
  CHECK(AllErrors(nested).find("nested more than 32 deep") != std::string::npos);

  std::string flood(100000, '[');
  CHECK_NOTHROW(LoadOne(flood));
  CHECK_FALSE(LoadOne(flood).errors.empty());
  static const char kBinary[] = "\0\xff\xfe garbage: [\x01";
  CHECK_FALSE(LoadOne(std::string(kBinary, sizeof kBinary - 1)).errors.empty());
  CHECK_FALSE(LoadOne("*undefined_alias\n").errors.empty());
  CHECK_FALSE(LoadOne(kHead + "rules:\n  - &a {id: x}\n  - *a\n").snapshot);
}

TEST_CASE("YAML aliases cannot multiply a condition past a bounded size") {
  // Each anchor names the one before ten times: a million leaves in a dozen
  // lines. The compiler stops at 10,000 parts with one error.
  std::string when = "        - &l0 {field: body.n, gt: 1}\n";
  for (int i = 1; i <= 6; ++i) {
    std::string list;
    for (int j = 0; j < 10; ++j) list += (j ? ", *l" : "*l") + std::to_string(i - 1);
    when += "        - &l" + std::to_string(i) + " {all: [" + list + "]}\n";
  }
  auto r = LoadOne(kHead + "rules:\n  - id: r\n    kind: attribute\n    when:\n      all:\n" + when);
  INFO(AllErrors(r));
  CHECK_FALSE(r.snapshot);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].message == "the condition has more than 10000 parts");
}

TEST_CASE("bad limits: zero, windows out of range, unknown scopes, budgets without a unit") {
  ExpectOnly(Rule("    kind: rate_limit\n    limit: {requests: 0, per: 1m}\n"),
             "p.yaml:7:23: rules[0].limit.requests: requests must be greater than zero");
  ExpectOnly(Rule("    kind: rate_limit\n    limit: {requests: -3, per: 1m}\n"),
             "p.yaml:7:23: rules[0].limit.requests: requests must be greater than zero");
  ExpectOnly(Rule("    kind: rate_limit\n    limit: {requests: 5, per: 500ms}\n"),
             "p.yaml:7:31: rules[0].limit.per: per must be from 1s to 366d (or day / month for a UTC "
             "calendar quota)");
  ExpectOnly(Rule("    kind: token_budget\n    limit: {tokens: 5, per: 400d}\n"),
             "p.yaml:7:29: rules[0].limit.per: per must be from 1s to 366d (or day / month for a UTC "
             "calendar quota)");
  ExpectOnly(Rule("    kind: rate_limit\n    scope: [account, user]\n    limit: {requests: 5, per: 1m}\n"),
             "p.yaml:7:22: rules[0].scope[1]: unknown scope \"user\" (ip also groups by prefix as ip/N "
             "or ip/N/M); expected key, account, org, ip, model or operation");
  ExpectOnly(Rule("    kind: rate_limit\n    scope: [ip/24/200]\n    limit: {requests: 5, per: 1m}\n"),
             "p.yaml:7:13: rules[0].scope[0]: ip/N/M needs an IPv4 prefix (1-32) and an IPv6 prefix "
             "(1-128): \"ip/24/200\"");
  ExpectOnly(Rule("    kind: token_budget\n    limit: {free: 40000}\n"),
             "p.yaml:7:19: rules[0].limit.free: a limit needs its unit and window, e.g. {tokens: 100, "
             "per: 1m}; got \"40000\"");
  ExpectOnly(Rule("    kind: token_budget\n    limit: {free: {per: 1m}}\n"),
             "p.yaml:7:19: rules[0].limit.free.tokens: required key is missing");
  ExpectOnly(Rule("    kind: rate_limit\n    limit: {requests: 5, per: day, burst: 1}\n"),
             "p.yaml:7:43: rules[0].limit.burst: a calendar quota (per: day / month) takes no burst");
  ExpectOnly(Rule("    kind: rate_limit\n    limit: {concurrent: 0}\n"),
             "p.yaml:7:25: rules[0].limit.concurrent: concurrent must be greater than zero");
  ExpectOnly(Rule("    kind: rate_limit\n    limit: {requests: 5, per: 1s}\n    action: {delay: {max: 5m}}\n"),
             "p.yaml:8:27: rules[0].action.delay.max: delay max must be from 1ms to 60s");
  ExpectOnly(Rule("    kind: rate_limit\n    algorithm: sliding_window\n    limit: {requests: 5, per: 1s}\n"
                  "    action: {delay: {max: 1s}}\n"),
             "p.yaml:7:16: rules[0].algorithm: delay mode schedules requests with gcra; remove "
             "algorithm or set gcra");
}
