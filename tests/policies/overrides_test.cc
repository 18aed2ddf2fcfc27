// `overrides:` change a rule of the set by id without editing the file that
// defines it: mode (shadow, off), action, any key but id and kind; maps merge
// key by key. Errors in an override are reported where the override is.
#include <doctest/doctest.h>

#include "policies/pack_resolver.h"
#include "test_support.h"

using namespace tosgate;
using test::AllErrors;
using test::HasError;
using test::kHead;

namespace {

// A pack with an attribute rule and a rate limit.
policies::MemoryPackResolver Packs() {
  policies::MemoryPackResolver packs;
  packs.Add("p", {{"p.yaml", kHead + "rules:\n"
                                     "  - id: p.deny\n    kind: attribute\n"
                                     "    when: {field: body.n, gt: 1}\n    action: deny\n    reason: too-many\n"
                                     "  - id: p.rate\n    kind: rate_limit\n"
                                     "    limit:\n      free: {requests: 5, per: 1m}\n      pro: {requests: 50, per: 1m}\n"}});
  return packs;
}

policies::LoadResult Load(const std::string& set_yaml) {
  static const policies::MemoryPackResolver packs = Packs();
  policies::LoadOptions options;
  options.packs = &packs;
  return policies::LoadPolicyFiles({{"set.yaml", kHead + "imports: [{pack: p}]\n" + set_yaml}}, options);
}

const engine::Rule* Find(const policies::LoadResult& r, const std::string& id) {
  for (const auto& rule : r.snapshot->rules)
    if (rule->common().id == id) return rule.get();
  return nullptr;
}

}  // namespace

TEST_CASE("an override switches a rule to shadow, or off") {
  auto r = Load("overrides:\n  - {rule: p.deny, mode: shadow}\n  - {rule: p.rate, mode: off}\n");
  INFO(AllErrors(r));
  REQUIRE(r.snapshot);
  REQUIRE(r.snapshot->rules.size() == 1);
  CHECK(r.snapshot->rules[0]->common().id == "p.deny");
  CHECK(r.snapshot->rules[0]->common().mode == RuleMode::kShadow);
  // Without the override, as written.
  auto plain = Load("");
  REQUIRE(plain.snapshot);
  CHECK(plain.snapshot->rules.size() == 2);
  CHECK(Find(plain, "p.deny")->common().mode == RuleMode::kEnforce);
}

TEST_CASE("an override replaces the action and reason, and merges maps key by key") {
  auto r = Load("overrides:\n  - rule: p.deny\n    action: flag\n    reason: looked-at\n"
                "  - rule: p.rate\n    limit: {free: {requests: 7, per: 1m}}\n");
  INFO(AllErrors(r));
  REQUIRE(r.snapshot);
  CHECK(Find(r, "p.deny")->common().action == Action::kFlag);
  CHECK(Find(r, "p.deny")->common().reason == "looked-at");
  // The revision is of the files, so an override changes it.
  CHECK(r.snapshot->revision != Load("").snapshot->revision);
}

TEST_CASE("override errors: unknown rule, id or kind, a bad value where the override writes it") {
  auto r = Load("overrides:\n  - {rule: p.nothing, mode: shadow}\n  - {rule: p.deny, kind: rate_limit}\n"
                "  - {rule: p.rate, mode: sometimes}\n  - {rule: p.deny}\n");
  INFO(AllErrors(r));
  CHECK(HasError(r, "set.yaml:6:12: overrides[0].rule: no rule \"p.nothing\" in this policy set"));
  CHECK(HasError(r, "set.yaml:7:20: overrides[1].kind: an override cannot change a rule's kind"));
  CHECK(HasError(r, "set.yaml:8:26: overrides[2].mode: expected enforce, shadow or off"));
  CHECK(HasError(r, "set.yaml:9:5: overrides[3]: an override needs mode: or a key of the rule"));
  CHECK(r.errors.size() == 4);

  auto bad = Load("overrides:\n  - rule: p.rate\n    limit: {free: {requests: 0}}\n    colour: red\n"
                  "  - rule: p.deny\n    action: maybe\n");
  INFO(AllErrors(bad));
  CHECK(HasError(bad, "set.yaml:7:30: overrides[0].limit.free.requests: requests must be greater than zero"));
  CHECK(HasError(bad, "set.yaml:8:5: overrides[0].colour: unknown key"));
  CHECK(HasError(bad, "set.yaml:10:13: overrides[1].action: "));
  CHECK(bad.errors.size() == 3);

  auto twice = Load("overrides:\n  - {rule: p.deny, mode: shadow}\n  - {rule: p.deny, mode: off}\n");
  CHECK(HasError(twice, "set.yaml:7:12: overrides[1].rule: rule \"p.deny\" is already overridden at "
                        "set.yaml:6:12; one override per rule"));
}

TEST_CASE("only_import leaves out the set's overrides: a pack's tests see its rules as written") {
  const policies::MemoryPackResolver packs = Packs();
  policies::LoadOptions options;
  options.packs = &packs;
  options.only_import = "pack:p";
  auto r = policies::LoadPolicyFiles(
      {{"set.yaml", kHead + "imports: [{pack: p}]\noverrides:\n  - {rule: p.deny, mode: off}\n"}}, options);
  INFO(AllErrors(r));
  REQUIRE(r.snapshot);
  CHECK(r.snapshot->rules.size() == 2);
}
