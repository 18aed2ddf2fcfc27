// kind: guard in a policy file: what it compiles to, and every error with
// file:line:column. kHead takes lines 1-3, `rules:` is line 4, the rule
// starts on line 5 ("  - id: g") and its keys follow, one a line.
#include <doctest/doctest.h>

#include <fstream>
#include <iterator>

#include "engine/rules/guard.h"
#include "test_support.h"

using namespace tosgate;
using test::AllErrors;
using test::HasError;
using test::kHead;
using test::LoadOne;

namespace {

policies::LoadResult Guard(const std::string& lines) {
  return LoadOne(kHead + "rules:\n  - id: g\n    kind: guard\n" + lines);
}

const std::string kEndpoint = "    endpoint: http://127.0.0.1:8000/v1/moderations\n";

const engine::GuardRule* Only(const policies::LoadResult& r) {
  INFO(AllErrors(r));
  REQUIRE(r.snapshot);
  REQUIRE(r.snapshot->rules.size() == 1);
  const auto* g = dynamic_cast<const engine::GuardRule*>(r.snapshot->rules[0].get());
  REQUIRE(g);
  return g;
}

}  // namespace

TEST_CASE("a guard rule compiles with its defaults") {
  auto r = Guard(kEndpoint + "    format: openai-moderation\n");
  const engine::GuardRule* g = Only(r);
  const engine::GuardConfig& c = g->config();
  CHECK(c.endpoint == "http://127.0.0.1:8000/v1/moderations");
  CHECK(c.format == engine::GuardFormat::kOpenAiModeration);
  CHECK(c.timeout_ms == 300);
  CHECK(c.max_concurrency == 16);
  CHECK(c.cache_entries == 10'000);
  CHECK_FALSE(c.fail_open.has_value());
  CHECK_FALSE(c.async);
  CHECK(c.scopes == std::vector{engine::ContentScope::kAll});
  CHECK(g->common().action == Action::kDeny);
  CHECK(g->common().reason == "guard-unsafe");
  CHECK(g->stateful());
}

TEST_CASE("a guard rule reads every key") {
  auto r = Guard(
      "    endpoint: https://guard.internal:8443/v1/chat/completions\n"
      "    format: llama-guard\n"
      "    model: llama-guard-3-1b\n"
      "    timeout: 150ms\n"
      "    max_concurrency: 4\n"
      "    cache: {entries: 500, ttl: 1h}\n"
      "    failure_mode: open\n"
      "    async: true\n"
      "    flag: guard-hit\n"
      "    flag_ttl: 2h\n"
      "    fields: [user, system]\n"
      "    categories: {S1: deny, S11: flag, S6: allow}\n"
      "    mode: shadow\n"
      "    action: throttle\n"
      "    reason: guard-said-no\n");
  const engine::GuardRule* g = Only(r);
  const engine::GuardConfig& c = g->config();
  CHECK(c.format == engine::GuardFormat::kLlamaGuard);
  CHECK(c.model == "llama-guard-3-1b");
  CHECK(c.timeout_ms == 150);
  CHECK(c.max_concurrency == 4);
  CHECK(c.cache_entries == 500);
  CHECK(c.cache_ttl_ns == int64_t{3600} * 1'000'000'000);
  CHECK(c.fail_open == true);
  CHECK(c.async);
  CHECK(c.flag == "guard-hit");
  CHECK(c.flag_ttl_ms == 7'200'000);
  CHECK(c.scopes == std::vector{engine::ContentScope::kUser, engine::ContentScope::kSystem});
  REQUIRE(c.categories.size() == 3);
  CHECK(c.categories[0].category == "S1");
  CHECK(c.categories[0].action == Action::kDeny);
  CHECK(c.categories[1].action == Action::kFlag);
  CHECK_FALSE(c.categories[2].action.has_value());
  CHECK(g->common().mode == RuleMode::kShadow);
  CHECK(g->common().action == Action::kThrottle);
  CHECK(g->common().reason == "guard-said-no");
}

TEST_CASE("guard rule errors name file, line and column") {
  auto missing = LoadOne(kHead + "rules:\n  - id: g\n    kind: guard\n");
  INFO(AllErrors(missing));
  CHECK(HasError(missing, "p.yaml:5:5: rules[0].endpoint: required key is missing"));
  CHECK(HasError(missing, "p.yaml:5:5: rules[0].format: required key is missing"));

  auto bad_url = Guard("    endpoint: ftp://x/y\n    format: llama-guard\n");
  CHECK(HasError(bad_url,
                 "p.yaml:7:15: rules[0].endpoint: endpoint \"ftp://x/y\" is not an "
                 "http:// or https:// URL with a host"));
  auto no_host = Guard("    endpoint: http:///v1/moderations\n    format: llama-guard\n");
  CHECK(HasError(no_host, "p.yaml:7:15: rules[0].endpoint: endpoint"));

  auto bad_format = Guard(kEndpoint + "    format: perspective\n");
  CHECK(HasError(bad_format, "p.yaml:8:13: rules[0].format: expected"));

  auto fmt = kEndpoint + "    format: openai-moderation\n";
  CHECK(HasError(Guard(fmt + "    timeout: 2m\n"),
                 "p.yaml:9:14: rules[0].timeout: timeout must be between 1ms and 60s"));
  CHECK(HasError(Guard(fmt + "    timeout: fast\n"), "p.yaml:9:14: rules[0].timeout:"));
  CHECK(HasError(
      Guard(fmt + "    max_concurrency: 0\n"),
      "p.yaml:9:22: rules[0].max_concurrency: max_concurrency must be between 1 and 4096"));
  CHECK(HasError(Guard(fmt + "    cache: {entries: -1}\n"),
                 "p.yaml:9:22: rules[0].cache.entries: entries must be between 0"));
  CHECK(HasError(Guard(fmt + "    cache: {size: 5}\n"),
                 "p.yaml:9:13: rules[0].cache.size: unknown key"));
  CHECK(HasError(Guard(fmt + "    failure_mode: maybe\n"),
                 "p.yaml:9:19: rules[0].failure_mode: expected"));
  CHECK(HasError(Guard(fmt + "    flag: guard-hit\n"),
                 "p.yaml:9:11: rules[0].flag: flag and flag_ttl apply only with async: true"));
  CHECK(HasError(Guard(fmt + "    async: true\n    flag: 'a b'\n"),
                 "p.yaml:10:11: rules[0].flag: flag \"a b\" may hold only letters"));
  CHECK(HasError(Guard(fmt + "    categories: {S1: block}\n"),
                 "p.yaml:9:22: rules[0].categories.S1: expected"));
  CHECK(HasError(Guard(fmt + "    fields: [assistant]\n"),
                 "p.yaml:9:14: rules[0].fields[0]: expected"));
  CHECK(HasError(Guard(fmt + "    colour: red\n"), "p.yaml:9:5: rules[0].colour: unknown key"));
}

TEST_CASE("the rules in docs/guard.md and the policy reference load") {
  auto read = [](const char* path) {
    std::ifstream in(std::string(TOSGATE_SOURCE_DIR) + "/" + path);
    REQUIRE(in.good());
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  // Every ```yaml block after `from`: a `rules:` section or rule items.
  auto blocks = [](const std::string& doc, size_t from) {
    std::vector<std::string> out;
    for (size_t at = doc.find("```yaml\n", from); at != std::string::npos;
         at = doc.find("```yaml\n", at + 1)) {
      const size_t body = at + 8;
      out.push_back(doc.substr(body, doc.find("```", body) - body));
    }
    return out;
  };
  const std::string guide = read("docs/guard.md");
  const std::vector<std::string> g = blocks(guide, 0);
  REQUIRE(g.size() == 2);
  CHECK(AllErrors(LoadOne(kHead + g[0])) == "");
  CHECK(AllErrors(LoadOne(kHead + "operations: {chat: {paths: [/v1/chat/completions]}}\nrules:\n" +
                          g[1])) == "");
  const std::string ref = read("docs/policy-reference.md");
  const size_t section = ref.find("### kind: guard");
  REQUIRE(section != std::string::npos);
  CHECK(AllErrors(LoadOne(kHead + blocks(ref, section).at(0))) == "");
}
