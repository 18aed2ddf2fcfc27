// The loader as a whole: the shipped pack, directories, settings, identity,
// operations, the revision, and errors across files.
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "engine/rules/attribute.h"
#include "engine/rules/rate_limit.h"
#include "test_support.h"

using namespace tosgate;
using policies::LoadPolicyDir;
using policies::LoadPolicyFiles;
using test::AllErrors;
using test::HasError;
using test::kHead;
using test::LoadOne;

namespace {

namespace fs = std::filesystem;

const std::string kPackDir = TOSGATE_SOURCE_DIR "/policies/packs/default";
// The default pack imports built-in packs by name.
const policies::LoadOptions kBuiltinPacks = test::WithBuiltinPacks();

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A fresh directory under the system temp folder, removed at scope end.
struct TempDir {
  std::string path;
  TempDir() {
    std::string templ = (fs::temp_directory_path() / "tosgate-policies-XXXXXX").string();
    path = mkdtemp(templ.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  void Write(const std::string& rel, const std::string& content) const {
    fs::create_directories((fs::path(path) / rel).parent_path());
    std::ofstream(fs::path(path) / rel, std::ios::binary) << content;
  }
};

const engine::Rule* FindRule(const engine::PolicySnapshot& s, const std::string& id) {
  for (const auto& r : s.rules)
    if (r->common().id == id) return r.get();
  return nullptr;
}

}  // namespace

TEST_CASE("the default pack loads with no errors and holds the documented rules") {
  policies::LoadResult r = LoadPolicyDir(kPackDir, kBuiltinPacks);
  INFO(AllErrors(r));
  REQUIRE(r.errors.empty());
  REQUIRE(r.snapshot);
  const engine::PolicySnapshot& s = *r.snapshot;
  // Its own file, then what it imports.
  REQUIRE_FALSE(r.files.empty());
  CHECK(r.files.front() == kPackDir + "/policy.yaml");
  REQUIRE(r.imports.size() == 2);
  CHECK(r.imports[0].name == "pack:prohibited-use");
  CHECK(r.imports[1].name == "pack:distillation");
  CHECK(s.name == "default");
  CHECK(s.revision.size() == 12);
  CHECK(s.settings.mode == RuleMode::kEnforce);
  CHECK_FALSE(s.settings.fail_open);
  CHECK(s.identity.unknown_tier == "free");
  CHECK_FALSE(s.identity.unknown_deny);

  CHECK(s.settings.unmatched_operation.deny);
  CHECK(s.settings.unmatched_operation.methods == std::vector<std::string>{"POST", "PUT", "PATCH"});
  CHECK(s.settings.unmatched_operation.paths == std::vector<std::string>{"/*"});
  CHECK(s.operations.size() >= 10);  // tests/policies/default_pack_test.cc checks each endpoint
  CHECK(s.OperationFor("POST", "/v1/messages") == "chat");
  CHECK(s.OperationFor("POST", "/v1/completions") == "completions");
  CHECK(s.OperationFor("POST", "/v1/embeddings") == "embeddings");
  CHECK(s.OperationFor("GET", "/v1/embeddings") == "");

  // Its own rules, in file order, and the imported packs' (their own tests
  // say what those are).
  std::vector<std::string> ids, own;
  for (const auto& rule : s.rules) {
    CAPTURE(rule->common().id);
    CHECK_FALSE(rule->common().description.empty());
    ids.push_back(rule->common().id);
    if (rule->common().source.rfind(kPackDir + "/policy.yaml:", 0) == 0) own.push_back(rule->common().id);
  }
  CHECK(own == std::vector<std::string>{"account.suspended", "purpose.no-model-training",
                                        "extraction.logit-bias-with-logprobs", "rate.rpm", "budget.tpm"});
  for (const char* imported : {"prohibited.malware", "prohibited.competitor-distillation", "prohibited.classifier",
                               "distill.competitor-training"}) {
    CAPTURE(imported);
    CHECK(std::find(ids.begin(), ids.end(), imported) != ids.end());
  }
  CHECK(FindRule(s, "account.suspended")->common().reason == "account-suspended");
  CHECK(FindRule(s, "purpose.no-model-training")->common().reason == "competitor-training-declared");
  const engine::Rule* extraction = FindRule(s, "extraction.logit-bias-with-logprobs");
  CHECK(extraction->common().action == Action::kDeny);
  CHECK(extraction->common().match.operations == std::vector<std::string>{"chat", "completions"});

  auto* rpm = dynamic_cast<const engine::RateLimitRule*>(FindRule(s, "rate.rpm"));
  REQUIRE(rpm);
  CHECK(rpm->common().action == Action::kThrottle);
  REQUIRE(rpm->scope().size() == 1);
  CHECK(rpm->scope()[0].field == engine::ScopeField::kAccount);
  const engine::LimitSpec* free = rpm->LimitFor("free");
  REQUIRE(free);
  CHECK(free->kind == engine::LimitKind::kWindow);
  CHECK(free->amount == 20);
  CHECK(free->per_ns == 60'000'000'000LL);
  CHECK(free->burst == 0);
  REQUIRE(rpm->LimitFor("pro"));
  CHECK(rpm->LimitFor("pro")->amount == 600);
  CHECK(rpm->LimitFor("pro")->burst == 60);
  REQUIRE(rpm->LimitFor("enterprise"));
  CHECK(rpm->LimitFor("enterprise")->amount == 6000);
  CHECK(rpm->LimitFor("enterprise")->burst == 600);
}

TEST_CASE("a directory and the same files in memory share a revision; any edit changes it") {
  policies::LoadResult dir = LoadPolicyDir(kPackDir, kBuiltinPacks);
  const std::string content = ReadFile(kPackDir + "/policy.yaml");
  policies::LoadResult mem = LoadPolicyFiles({{"policy.yaml", content}}, kBuiltinPacks);
  REQUIRE(dir.snapshot);
  REQUIRE(mem.snapshot);
  CHECK(dir.snapshot->revision == mem.snapshot->revision);
  policies::LoadResult edited = LoadPolicyFiles({{"policy.yaml", content + "# edited\n"}}, kBuiltinPacks);
  REQUIRE(edited.snapshot);
  CHECK(edited.snapshot->revision != mem.snapshot->revision);
  policies::LoadResult renamed = LoadPolicyFiles({{"other.yaml", content}}, kBuiltinPacks);
  REQUIRE(renamed.snapshot);
  CHECK(renamed.snapshot->revision != mem.snapshot->revision);
}

TEST_CASE("a missing directory is one diagnostic that names it") {
  policies::LoadResult r = LoadPolicyDir("/nonexistent/tosgate/policies");
  CHECK_FALSE(r.snapshot);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].ToString() ==
        "/nonexistent/tosgate/policies: policy directory does not exist");
}

TEST_CASE("a directory with no policy files is an error, not an empty policy") {
  TempDir dir;
  dir.Write("README.md", "nothing here\n");
  dir.Write("only.test.yaml", "tests: []\n");
  policies::LoadResult r = LoadPolicyDir(dir.path);
  CHECK_FALSE(r.snapshot);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].ToString() == dir.path + ": no policy files (*.yaml, *.yml) found");
}

TEST_CASE("a directory loads recursively in sorted order, skipping tests and hidden entries") {
  TempDir dir;
  dir.Write("b.yml", kHead + "rules:\n  - {id: b, kind: attribute, when: {field: body.n, gt: 1}}\n");
  dir.Write("a/z.yaml", "apiVersion: tosgate/v1\nkind: Policy\nmetadata: {name: first}\n"
                        "rules:\n  - {id: a, kind: attribute, when: {field: body.n, gt: 2}}\n");
  dir.Write("empty.yaml", "# nothing yet\n");
  dir.Write("b.test.yaml", "this: [is not: a policy\n");
  dir.Write(".hidden.yaml", "broken: [\n");
  dir.Write("..data/copy.yaml", "broken: [\n");  // a Kubernetes ConfigMap's second copy
  policies::LoadResult r = LoadPolicyDir(dir.path);
  INFO(AllErrors(r));
  REQUIRE(r.snapshot);
  CHECK(r.files == std::vector<std::string>{dir.path + "/a/z.yaml", dir.path + "/b.yml",
                                            dir.path + "/empty.yaml"});
  CHECK(r.snapshot->name == "first");
  REQUIRE(r.snapshot->rules.size() == 2);
  CHECK(r.snapshot->rules[0]->common().id == "a");
  CHECK(r.snapshot->rules[1]->common().id == "b");
}

TEST_CASE("errors are reported with the file's path inside the directory") {
  TempDir dir;
  dir.Write("p.yaml", kHead + "rules:\n  - id: r1\n    kind: attribute\n"
                              "    when: {field: request.purpose, eq: x}\n    colour: red\n");
  policies::LoadResult r = LoadPolicyDir(dir.path);
  CHECK_FALSE(r.snapshot);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].ToString().rfind(dir.path + "/p.yaml:8:5: rules[0].colour: unknown key", 0) == 0);
}

TEST_CASE("settings, identity and operations compile into the snapshot") {
  policies::LoadResult r = LoadOne(kHead +
                                   "settings: {mode: shadow, failure_mode: open}\n"
                                   "identity:\n"
                                   "  trusted_headers: {account: X-Tos-Account, org: x-tos-org, tier: X-TIER}\n"
                                   "  unknown_keys: {action: deny}\n"
                                   "operations:\n"
                                   "  models: {methods: [GET], paths: [/v1/models, /v1/models/*]}\n");
  INFO(AllErrors(r));
  REQUIRE(r.snapshot);
  const engine::PolicySnapshot& s = *r.snapshot;
  CHECK(s.settings.mode == RuleMode::kShadow);
  CHECK(s.settings.fail_open);
  CHECK(s.identity.account_header == "x-tos-account");
  CHECK(s.identity.org_header == "x-tos-org");
  CHECK(s.identity.tier_header == "x-tier");
  CHECK(s.identity.unknown_deny);
  CHECK(s.OperationFor("GET", "/v1/models/m-large") == "models");
  CHECK(s.OperationFor("POST", "/v1/models") == "");
  CHECK(s.rules.empty());
}

TEST_CASE("defaults: enforce, fail closed, unknown keys are free, no operations") {
  policies::LoadResult r = LoadOne(kHead);
  REQUIRE(r.snapshot);
  CHECK(r.snapshot->settings.mode == RuleMode::kEnforce);
  CHECK_FALSE(r.snapshot->settings.fail_open);
  // Unmatched POST, PUT and PATCH are refused on every path.
  CHECK(r.snapshot->settings.unmatched_operation.deny);
  CHECK(r.snapshot->RefusesUnmatched("POST", "/v1/chat/completions"));
  CHECK(r.snapshot->RefusesUnmatched("PUT", "/x"));
  CHECK_FALSE(r.snapshot->RefusesUnmatched("GET", "/v1/models"));
  // Settings that leave unmatched_operation out keep its default.
  policies::LoadResult other = LoadOne(kHead + "settings: {mode: shadow}\n");
  REQUIRE(other.snapshot);
  CHECK(other.snapshot->settings.unmatched_operation.deny);
  CHECK(r.snapshot->identity.unknown_tier == "free");
  CHECK_FALSE(r.snapshot->identity.unknown_deny);
  CHECK(r.snapshot->operations.empty());
  CHECK(r.snapshot->name == "t");
}

TEST_CASE("rules may name operations defined in another file of the set") {
  policies::LoadResult r = LoadPolicyFiles({
      {"a.yaml", kHead + "rules:\n  - {id: r, kind: attribute, match: {operations: [chat]},"
                         " when: {field: body.n, gt: 1}}\n"},
      {"b.yaml", kHead + "operations:\n  chat: {paths: [/v1/chat/completions]}\n"},
  });
  INFO(AllErrors(r));
  REQUIRE(r.snapshot);
  CHECK(r.snapshot->rules[0]->common().match.operations == std::vector<std::string>{"chat"});
}

TEST_CASE("a list file must exist next to the policy file") {
  const std::string policy = kHead + "lists:\n  weapons: {file: lists/weapons.txt}\n";
  CHECK(LoadPolicyFiles({{"p/a.yaml", policy}, {"p/lists/weapons.txt", "sarin\n"}}).snapshot);
  policies::LoadResult missing = LoadPolicyFiles({{"p/a.yaml", policy}, {"lists/weapons.txt", "x"}});
  CHECK(HasError(missing, "p/a.yaml:5:19: lists.weapons.file: list file \"lists/weapons.txt\" not found"));

  TempDir dir;
  dir.Write("a.yaml", policy);
  CHECK(HasError(LoadPolicyDir(dir.path), dir.path + "/a.yaml:5:19: lists.weapons.file:"));
  dir.Write("lists/weapons.txt", "sarin\n");
  CHECK(LoadPolicyDir(dir.path).snapshot);
}

TEST_CASE("the same file given twice in memory is an error, not rules loaded twice") {
  policies::LoadResult r = LoadPolicyFiles({{"a.yaml", kHead}, {"./a.yaml", kHead}});
  CHECK_FALSE(r.snapshot);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].ToString() == "./a.yaml: the file is given twice");
}

TEST_CASE("settings.unmatched_operation compiles action, methods and paths") {
  policies::LoadResult r = LoadOne(kHead +
                                   "settings:\n"
                                   "  unmatched_operation:\n"
                                   "    action: deny\n"
                                   "    methods: [POST, DELETE]\n"
                                   "    paths: [/v1/*, \"/v1beta/models/*:generateContent\"]\n");
  INFO(AllErrors(r));
  REQUIRE(r.snapshot);
  const engine::UnmatchedOperation& u = r.snapshot->settings.unmatched_operation;
  CHECK(u.deny);
  CHECK(u.methods == std::vector<std::string>{"POST", "DELETE"});
  CHECK(u.paths == std::vector<std::string>{"/v1/*", "/v1beta/models/*:generateContent"});
  CHECK(r.snapshot->RefusesUnmatched("DELETE", "/v1/files/f"));
  CHECK_FALSE(r.snapshot->RefusesUnmatched("PUT", "/v1/files/f"));
  CHECK_FALSE(r.snapshot->RefusesUnmatched("POST", "/internal"));

  policies::LoadResult allow = LoadOne(kHead + "settings: {unmatched_operation: {action: allow}}\n");
  REQUIRE(allow.snapshot);
  CHECK_FALSE(allow.snapshot->settings.unmatched_operation.deny);
  CHECK_FALSE(allow.snapshot->RefusesUnmatched("POST", "/v1/anything"));
}

TEST_CASE("settings.unmatched_operation errors name file, line, column and key") {
  CHECK(HasError(LoadOne(kHead + "settings: {unmatched_operation: {action: block}}\n"),
                 "p.yaml:4:42: settings.unmatched_operation.action: expected deny or allow"));
  CHECK(HasError(LoadOne(kHead + "settings: {unmatched_operation: {methods: [post]}}\n"),
                 "p.yaml:4:44: settings.unmatched_operation.methods[0]: method \"post\" must be "
                 "upper case letters"));
  CHECK(HasError(LoadOne(kHead + "settings: {unmatched_operation: {methods: []}}\n"),
                 "p.yaml:4:43: settings.unmatched_operation.methods: methods needs at least one"));
  CHECK(HasError(LoadOne(kHead + "settings: {unmatched_operation: {paths: []}}\n"),
                 "p.yaml:4:41: settings.unmatched_operation.paths: paths needs at least one path"));
  CHECK(HasError(LoadOne(kHead + "settings: {unmatched_operation: {paths: [v1/*]}}\n"),
                 "p.yaml:4:42: settings.unmatched_operation.paths[0]: path \"v1/*\" must start "
                 "with '/'"));
  CHECK(HasError(LoadOne(kHead + "settings: {unmatched_operation: {colour: red}}\n"),
                 "p.yaml:4:34: settings.unmatched_operation.colour: unknown key"));
  CHECK(HasError(LoadOne(kHead + "settings: {unmatched_operation: deny}\n"),
                 "p.yaml:4:33: settings.unmatched_operation:"));
}

TEST_CASE("operation paths may hold '*' inside a segment, never \"**\"") {
  policies::LoadResult r = LoadOne(
      kHead + "operations:\n  gen: {methods: [POST], paths: [\"/v1beta/models/*:generateContent\"]}\n");
  INFO(AllErrors(r));
  REQUIRE(r.snapshot);
  CHECK(r.snapshot->OperationFor("POST", "/v1beta/models/gemini-pro:generateContent") == "gen");
  CHECK(r.snapshot->OperationFor("POST", "/v1beta/models/a/b:generateContent") == "");
  CHECK(HasError(LoadOne(kHead + "operations:\n  x: {paths: [/v1/**]}\n"),
                 "p.yaml:5:15: operations.x.paths[0]: path \"/v1/**\" holds \"**\""));
}
