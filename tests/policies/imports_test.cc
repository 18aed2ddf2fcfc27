// `imports:` in a policy set: packs by name (through a PackResolver), files
// and directories by path; identical operations and lists merge, different
// ones are errors naming both places; the set's own files own settings and
// identity; cycles and unknown packs are errors at the import.
#include <doctest/doctest.h>

#include "policies/pack_resolver.h"
#include "test_support.h"

using namespace tosgate;
using test::AllErrors;
using test::HasError;
using test::kHead;

namespace {

const std::string kOps = "operations:\n  chat: {methods: [POST], paths: [/v1/chat]}\n";

std::string Rule(const std::string& id, const std::string& extra = "") {
  return "  - id: " + id + "\n    kind: attribute\n    when: {field: body.n, gt: 1}\n    action: deny\n" + extra;
}

// Two packs: "ops" (operations, settings and identity of its own) and
// "rules" (a rule and a list, importing "ops").
policies::MemoryPackResolver Packs() {
  policies::MemoryPackResolver packs;
  packs.Add("ops", {{"ops.yaml", kHead + "settings: {mode: shadow}\nidentity:\n  unknown_keys: {tier: gold}\n" + kOps},
                    {"ops.test.yaml", "tests: []\n"}});
  packs.Add("rules", {{"policy.yaml", kHead + "imports: [{pack: ops}]\nlists:\n  words: {file: lists/w.txt}\n"
                                               "rules:\n" + Rule("pack.rule", "    match: {operations: [chat]}\n")},
                      {"lists/w.txt", "alpha\nbeta\n"}});
  return packs;
}

policies::LoadResult Load(const std::vector<std::pair<std::string, std::string>>& files,
                          const policies::PackResolver* packs) {
  policies::LoadOptions options;
  options.packs = packs;
  return policies::LoadPolicyFiles(files, options);
}

}  // namespace

TEST_CASE("a pack is imported by name, with what it imports") {
  const policies::MemoryPackResolver packs = Packs();
  auto r = Load({{"set.yaml", kHead + "imports: [{pack: rules}]\nrules:\n" + Rule("own.rule")}}, &packs);
  INFO(AllErrors(r));
  REQUIRE(r.snapshot);
  REQUIRE(r.snapshot->rules.size() == 2);
  CHECK(r.snapshot->rules[0]->common().id == "own.rule");
  CHECK(r.snapshot->rules[1]->common().id == "pack.rule");
  CHECK(r.snapshot->OperationFor("POST", "/v1/chat") == "chat");
  CHECK(r.snapshot->name == "t");
  CHECK(r.files == std::vector<std::string>{"set.yaml", "pack:rules/policy.yaml", "pack:ops/ops.yaml"});
  REQUIRE(r.imports.size() == 2);
  CHECK(r.imports[0].name == "pack:rules");
  CHECK(r.imports[1].name == "pack:ops");
  CHECK(r.imports[1].test_files.size() == 1);
}

TEST_CASE("an imported pack's settings and identity are not the set's") {
  const policies::MemoryPackResolver packs = Packs();
  auto r = Load({{"set.yaml", kHead + "imports: [{pack: ops}]\nsettings: {mode: enforce}\n"}}, &packs);
  INFO(AllErrors(r));
  REQUIRE(r.snapshot);
  CHECK(r.snapshot->settings.mode == RuleMode::kEnforce);
  CHECK(r.snapshot->identity.unknown_tier == engine::IdentityConfig{}.unknown_tier);
  // Still checked, where they are written.
  policies::MemoryPackResolver bad;
  bad.Add("bad", {{"p.yaml", kHead + "settings: {mode: sometimes}\n"}});
  auto e = Load({{"set.yaml", kHead + "imports: [{pack: bad}]\n"}}, &bad);
  CHECK(HasError(e, "pack:bad/p.yaml:4:18: settings.mode: "));
}

TEST_CASE("identical operations and lists merge; different ones name both places") {
  const policies::MemoryPackResolver packs = Packs();
  auto same = Load({{"set.yaml", kHead + "imports: [{pack: rules}]\n" + kOps +
                                     "lists:\n  words: {file: w.txt}\n"},
                    {"w.txt", "alpha\nbeta\n"}},
                   &packs);
  INFO(AllErrors(same));
  CHECK(same.snapshot);
  auto differ = Load({{"set.yaml", kHead + "imports: [{pack: rules}]\noperations:\n  chat: {paths: [/v1/chat]}\n"
                                       "lists:\n  words: {file: w.txt}\n"},
                      {"w.txt", "alpha\n"}},
                     &packs);
  INFO(AllErrors(differ));
  CHECK(HasError(differ, "pack:ops/ops.yaml:8:3: operations.chat: operation \"chat\" is already "
                         "defined at set.yaml:6:3, differently"));
  CHECK(HasError(differ, "pack:rules/policy.yaml:6:3: lists.words: list \"words\" is already defined "
                         "at set.yaml:8:3, differently"));
  CHECK(differ.errors.size() == 2);
}

TEST_CASE("paths import a file or a directory, relative to the importing file") {
  auto r = policies::LoadPolicyFiles(
      {{"set/main.yaml", kHead + "imports: [{path: ../shared/ops.yaml}, {path: ../team}]\n"},
       {"shared/ops.yaml", kHead + kOps},
       {"team/a.yaml", kHead + "rules:\n" + Rule("team.a")},
       {"team/b.yaml", kHead + "rules:\n" + Rule("team.b")},
       {"team/b.test.yaml", "tests: []\n"}});
  // Every file given is a file of the set here, so the imports name files
  // already in it: nothing loads twice. (tests/cli/imports_cli_test.cc
  // imports from outside a directory.)
  INFO(AllErrors(r));
  REQUIRE(r.snapshot);
  CHECK(r.snapshot->rules.size() == 2);
  CHECK(r.files.size() == 4);
}

TEST_CASE("import errors: unknown pack, missing path, both keys, cycles") {
  const policies::MemoryPackResolver packs = Packs();
  auto r = Load({{"set.yaml", kHead + "imports:\n  - {pack: nope}\n  - {path: missing.yaml}\n"
                                      "  - {pack: ops, path: x.yaml}\n  - pack\n"}},
                &packs);
  INFO(AllErrors(r));
  CHECK(HasError(r, "set.yaml:5:12: imports[0].pack: unknown pack \"nope\"; the packs are: ops, rules"));
  CHECK(HasError(r, "set.yaml:6:12: imports[1].path: path \"missing.yaml\" not found (paths are "
                    "relative to this file)"));
  CHECK(HasError(r, "set.yaml:7:5: imports[2]: an import takes either pack: NAME"));
  CHECK(HasError(r, "set.yaml:8:5: imports[3]: "));
  CHECK(r.errors.size() == 4);

  auto none = policies::LoadPolicyFiles({{"set.yaml", kHead + "imports: [{pack: ops}]\n"}});
  INFO(AllErrors(none));
  CHECK(HasError(none, "set.yaml:4:18: imports[0].pack: unknown pack \"ops\"; the packs are: none"));

  policies::MemoryPackResolver cyclic;
  cyclic.Add("a", {{"a.yaml", kHead + "imports: [{pack: b}]\n"}});
  cyclic.Add("b", {{"b.yaml", kHead + "imports:\n  - pack: a\n"}});
  auto c = Load({{"set.yaml", kHead + "imports: [{pack: a}]\n"}}, &cyclic);
  INFO(AllErrors(c));
  CHECK(HasError(c, "pack:b/b.yaml:5:11: imports[0].pack: import cycle: the set -> pack:a -> pack:b "
                    "-> pack:a"));
  CHECK(c.errors.size() == 1);

  // The set's own directory, from inside it.
  auto self = policies::LoadPolicyFiles({{"d/a.yaml", kHead + "imports: [{path: ..}]\n"}});
  INFO(AllErrors(self));
  CHECK(HasError(self, "d/a.yaml:4:18: imports[0].path: import cycle: the set -> ., which is already on the chain"));
}

TEST_CASE("a pack reached twice loads once (a diamond is not a cycle)") {
  policies::MemoryPackResolver packs = Packs();
  packs.Add("more", {{"m.yaml", kHead + "imports: [{pack: ops}]\nrules:\n" + Rule("more.rule")}});
  auto r = Load({{"set.yaml", kHead + "imports: [{pack: rules}, {pack: more}, {pack: ops}]\n"}}, &packs);
  INFO(AllErrors(r));
  REQUIRE(r.snapshot);
  CHECK(r.snapshot->rules.size() == 2);
  CHECK(r.snapshot->operations.size() == 1);
  CHECK(r.imports.size() == 3);
}

TEST_CASE("a pack's path imports stay inside the pack") {
  policies::MemoryPackResolver packs;
  packs.Add("p", {{"a.yaml", kHead + "imports: [{path: ../outside.yaml}]\n"}});
  auto r = Load({{"set.yaml", kHead + "imports: [{pack: p}]\n"}, {"outside.yaml", kHead}}, &packs);
  CHECK(HasError(r, "pack:p/a.yaml:4:18: imports[0].path: path \"../outside.yaml\" is outside the pack"));
}

TEST_CASE("only_import: an import's rules as written, in the set's settings and operations") {
  const policies::MemoryPackResolver packs = Packs();
  policies::LoadOptions options;
  options.packs = &packs;
  options.only_import = "pack:rules";
  auto r = policies::LoadPolicyFiles(
      {{"set.yaml", kHead + "imports: [{pack: rules}]\nsettings: {mode: shadow}\nrules:\n" + Rule("own.rule")}},
      options);
  INFO(AllErrors(r));
  REQUIRE(r.snapshot);
  REQUIRE(r.snapshot->rules.size() == 1);
  CHECK(r.snapshot->rules[0]->common().id == "pack.rule");
  CHECK(r.snapshot->settings.mode == RuleMode::kShadow);
  options.only_import = "pack:nothing";
  CHECK(HasError(policies::LoadPolicyFiles({{"set.yaml", kHead}}, options),
                 "<policy files>: the set does not import pack:nothing"));
}
