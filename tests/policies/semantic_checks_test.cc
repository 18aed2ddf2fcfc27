// The warnings of `tosgate validate`: rules that can never match, rules
// shadowed by an earlier deny, and per-tier limits out of order.
#include "policies/semantic_checks.h"

#include <doctest/doctest.h>

#include "test_support.h"

using namespace tosgate;
using policies::Diagnostic;
using test::AllErrors;
using test::kHead;

namespace {

// The warnings for one file of rules (written after kHead, so the first rule
// is on line 5).
std::vector<Diagnostic> Warnings(const std::string& rules, const std::string& extra = "") {
  const std::string yaml = kHead + extra + "rules:\n" + rules;
  const policies::LoadResult r = test::LoadOne(yaml);
  REQUIRE_MESSAGE(r.errors.empty(), AllErrors(r));
  std::vector<Diagnostic> out = policies::SemanticChecks(*r.snapshot, {{"p.yaml", yaml}});
  for (const Diagnostic& d : out) CHECK(d.severity == policies::Severity::kWarning);
  return out;
}

std::string Text(const std::vector<Diagnostic>& ds) {
  std::string out;
  for (const Diagnostic& d : ds) out += d.ToString() + "\n";
  return out;
}

std::string Attr(const std::string& id, const std::string& when, const std::string& more = "") {
  return "  - {id: " + id + ", kind: attribute, when: " + when + more + "}\n";
}

std::string Rate(const std::string& id, const std::string& limit, const std::string& more = "") {
  return "  - {id: " + id + ", kind: rate_limit, limit: " + limit + more + "}\n";
}

}  // namespace

TEST_CASE("a warning renders as file:line:column with a warning: prefix; errors are unchanged") {
  Diagnostic d{"a.yaml", 5, 7, "rules[0].when", "rule \"x\" can never match"};
  CHECK(d.ToString() == "a.yaml:5:7: rules[0].when: rule \"x\" can never match");
  d.severity = policies::Severity::kWarning;
  CHECK(d.ToString() == "warning: a.yaml:5:7: rules[0].when: rule \"x\" can never match");
}

TEST_CASE("an all with two different eq values on one field can never match") {
  const auto w =
      Warnings(Attr("r", "{all: [{field: body.model, eq: a}, {field: body.model, eq: b}]}"));
  REQUIRE(w.size() == 1);
  CHECK(Text(w).rfind("warning: p.yaml:5:36: rules[0].when: rule \"r\" can never match: body.model",
                      0) == 0);
  CHECK(Warnings(Attr("r", "{all: [{field: body.model, eq: a}, {field: body.model, eq: a}]}"))
            .empty());
  CHECK(Warnings(Attr("r", "{all: [{field: body.model, eq: a}, {field: body.n, eq: 2}]}")).empty());
  // eq against in: the value must be among the list.
  CHECK(Warnings(Attr("r", "{all: [{field: body.model, eq: a}, {field: body.model, in: [b, c]}]}"))
            .size() == 1);
  CHECK(Warnings(Attr("r", "{all: [{field: body.model, eq: a}, {field: body.model, in: [a, c]}]}"))
            .empty());
}

TEST_CASE("gt and lt that leave no number between them can never match") {
  CHECK(Warnings(Attr("r", "{all: [{field: body.n, gt: 5}, {field: body.n, lt: 3}]}")).size() == 1);
  CHECK(Warnings(Attr("r", "{all: [{field: body.n, gt: 5}, {field: body.n, lt: 5}]}")).size() == 1);
  CHECK(Warnings(Attr("r", "{all: [{field: body.n, eq: 2}, {field: body.n, gt: 3}]}")).size() == 1);
  CHECK(Warnings(Attr("r", "{all: [{field: body.n, gt: 3}, {field: body.n, lt: 5}]}")).empty());
  CHECK(Warnings(Attr("r", "{all: [{field: body.n, eq: 4}, {field: body.n, gt: 3}]}")).empty());
  // Different fields never contradict each other.
  CHECK(Warnings(Attr("r", "{all: [{field: body.n, gt: 5}, {field: time.hour, lt: 3}]}")).empty());
}

TEST_CASE("exists: false beside another comparison on the field can never match") {
  CHECK(Warnings(Attr("r",
                      "{all: [{field: request.purpose, exists: false}, "
                      "{field: request.purpose, eq: x}]}"))
            .size() == 1);
  CHECK(Warnings(Attr("r",
                      "{all: [{field: request.purpose, exists: true}, "
                      "{field: request.purpose, eq: x}]}"))
            .empty());
}

TEST_CASE("two flags required at once are not a contradiction") {
  CHECK(Warnings(Attr("r", "{all: [{field: account.flags, eq: a}, {field: account.flags, eq: b}]}"))
            .empty());
}

TEST_CASE("a contradiction inside any only matters when every branch has one") {
  const std::string bad = "{all: [{field: body.n, gt: 5}, {field: body.n, lt: 3}]}";
  CHECK(Warnings(Attr("r", "{any: [" + bad + ", {field: body.stream, eq: true}]}")).empty());
  CHECK(Warnings(Attr("r", "{any: [" + bad + ", " + bad + "]}")).size() == 1);
  // Nested: an all holding a contradictory all.
  CHECK(Warnings(Attr("r", "{all: [{field: body.stream, eq: true}, " + bad + "]}")).size() == 1);
  // `not` is left alone.
  CHECK(Warnings(Attr("r", "{not: " + bad + "}")).empty());
}

TEST_CASE("a later rule with an earlier enforced deny's match and condition is shadowed") {
  const std::string when = "{all: [{field: body.n, gt: 1}, {field: body.stream, eq: true}]}";
  const std::string reordered = "{all: [{field: body.stream, eq: true}, {field: body.n, gt: 1}]}";
  const auto w = Warnings(Attr("first", when) + Attr("second", reordered, ", action: flag"));
  REQUIRE(w.size() == 1);
  CHECK(Text(w).rfind("warning: p.yaml:6:5: rules[1]: rule \"second\" is shadowed by rule "
                      "\"first\" (p.yaml:5)",
                      0) == 0);
  CHECK(Warnings(Attr("first", when) + Attr("second", when)).size() == 1);

  // Not shadowed: a different condition, a different match, an earlier rule
  // that is shadow-mode or does not deny, or the deny coming later.
  CHECK(Warnings(Attr("first", when) + Attr("second", "{field: body.n, gt: 2}")).empty());
  CHECK(Warnings(Attr("first", when) + Attr("second", when, ", match: {tiers: [free]}")).empty());
  CHECK(Warnings(Attr("first", when, ", mode: shadow") + Attr("second", when)).empty());
  CHECK(Warnings(Attr("first", when, ", action: flag") + Attr("second", when)).empty());
  CHECK(Warnings(Attr("first", when, ", action: throttle") + Attr("second", when)).empty());
}

TEST_CASE("a rate limit with no limit for any tier in match.tiers never limits") {
  const std::string per_tier = "{free: {requests: 20, per: 1m}, pro: {requests: 600, per: 1m}}";
  const auto w = Warnings(Rate("r", per_tier, ", match: {tiers: [enterprise, team]}"));
  REQUIRE(w.size() == 1);
  CHECK(Text(w).find("rules[0].match: rule \"r\" never limits a request: match.tiers names "
                     "enterprise, team") != std::string::npos);
  CHECK(Warnings(Rate("r", per_tier, ", match: {tiers: [enterprise, pro]}")).empty());
  CHECK(Warnings(Rate("r", per_tier)).empty());
  // One limit for everyone covers every tier.
  CHECK(Warnings(Rate("r", "{requests: 5, per: 1s}", ", match: {tiers: [enterprise]}")).empty());
}

TEST_CASE("a lower tier with a looser rate than a higher one is out of order") {
  const auto w =
      Warnings(Rate("r", "{free: {requests: 100, per: 1m}, pro: {requests: 50, per: 1m}}"));
  REQUIRE(w.size() == 1);
  CHECK(Text(w).find("rules[0].limit: rule \"r\" gives free a looser limit (100 per 1m) than pro "
                     "(50 per 1m)") != std::string::npos);
  // Rates, not counts: 2 per second is looser than 60 per minute.
  CHECK(Warnings(Rate("r", "{pro: {requests: 2, per: 1s}, enterprise: {requests: 60, per: 1m}}"))
            .size() == 1);
  // Every pair is compared, with a tier missing in between.
  CHECK(Warnings(Rate("r", "{free: {requests: 9, per: 1m}, enterprise: {requests: 8, per: 1m}}"))
            .size() == 1);

  CHECK(Warnings(Rate("r",
                      "{free: {requests: 20, per: 1m}, pro: {requests: 600, per: 1m}, "
                      "enterprise: {requests: 100, per: 1s}}"))
            .empty());
  CHECK(
      Warnings(Rate("r", "{free: {requests: 60, per: 1m}, pro: {requests: 1, per: 1s}}")).empty());
  // Tier names outside free < pro < enterprise have no known order.
  CHECK(Warnings(Rate("r", "{gold: {requests: 1, per: 1m}, silver: {requests: 9, per: 1m}}"))
            .empty());
}

TEST_CASE("the default pack has no warnings") {
  const policies::LoadResult r =
      policies::LoadPolicyDir(TOSGATE_SOURCE_DIR "/policies/packs/default", test::WithBuiltinPacks());
  REQUIRE_MESSAGE(r.errors.empty(), AllErrors(r));
  CHECK(Text(policies::SemanticChecks(r)) == "");
}

TEST_CASE("a set that did not load has no warnings to add") {
  const policies::LoadResult r = test::LoadOne("apiVersion: tosgate/v1\n");
  REQUIRE_FALSE(r.errors.empty());
  CHECK(policies::SemanticChecks(r).empty());
}

TEST_CASE("a rule id used in two files is an error naming both places") {
  const std::string rule = "rules:\n  - {id: dup, kind: attribute, when: {field: body.n, gt: 1}}\n";
  const policies::LoadResult r =
      policies::LoadPolicyFiles({{"a.yaml", kHead + rule}, {"b.yaml", kHead + rule}});
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].severity == policies::Severity::kError);
  CHECK(r.errors[0].ToString() ==
        "b.yaml:5:10: rules[0].id: duplicate rule id \"dup\"; first defined at a.yaml:5");
}
