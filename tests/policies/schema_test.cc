// policies/schema.json (what editors check policy files against) and the
// loader must accept the same keys and values. The loader keeps no list of
// its keys, so the test probes it: a made-up key at each level is reported as
// "unknown key; expected one of: ...", and that list is the loader's side.
// Adding a key to either one without the other fails here.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>

#include "engine/field.h"
#include "policies/kinds/kinds.h"
#include "test_support.h"

using namespace tosgate;
using nlohmann::json;
using test::AllErrors;
using test::kHead;
using test::LoadOne;
using Keys = std::set<std::string>;

namespace {

const json& Schema() {
  static const json* schema = [] {
    std::ifstream in(TOSGATE_SOURCE_DIR "/policies/schema.json");
    REQUIRE(in.good());
    return new json(json::parse(in));
  }();
  return *schema;
}

const json& Def(const std::string& name) {
  const json& defs = Schema().at("definitions");
  REQUIRE_MESSAGE(defs.contains(name), name);
  return defs.at(name);
}

// The property names of a schema object, which must allow nothing else.
Keys SchemaKeys(const json& object, bool strict = true) {
  if (strict) CHECK(object.at("additionalProperties") == false);
  Keys out;
  for (const auto& [key, value] : object.at("properties").items()) out.insert(key);
  return out;
}

Keys EnumOf(const json& property) {
  Keys out;
  for (const json& v : property.at("enum")) out.insert(v.get<std::string>());
  return out;
}

Keys Split(std::string list, const std::string& sep) {
  Keys out;
  for (size_t pos; (pos = list.find(sep)) != std::string::npos; list.erase(0, pos + sep.size()))
    out.insert(list.substr(0, pos));
  out.insert(list);
  return out;
}

// The keys the loader asked for in the map holding `made_up_key_path`.
Keys LoaderKeys(const std::string& yaml, const std::string& made_up_key_path) {
  const policies::LoadResult r = LoadOne(yaml);
  const std::string prefix = "unknown key; expected one of: ";
  for (const policies::Diagnostic& d : r.errors)
    if (d.key == made_up_key_path && d.message.rfind(prefix, 0) == 0)
      return Split(d.message.substr(prefix.size()), ", ");
  FAIL("no unknown-key diagnostic at " << made_up_key_path << " in:\n" << AllErrors(r));
  return {};
}

// The values the loader names when `key_path` holds a made-up one
// ("expected a, b or c, got ...").
Keys LoaderValues(const std::string& yaml, const std::string& key_path) {
  const policies::LoadResult r = LoadOne(yaml);
  for (const policies::Diagnostic& d : r.errors) {
    if (d.key != key_path) continue;
    const size_t from = d.message.find("expected ");
    if (from == std::string::npos) continue;
    std::string list = d.message.substr(from + 9);
    list = list.substr(0, list.find(", got"));
    Keys out;
    for (const std::string& part : Split(list, ", "))
      for (const std::string& name : Split(part, " or ")) out.insert(name);
    return out;
  }
  FAIL("no diagnostic naming the allowed values at " << key_path << " in:\n" << AllErrors(r));
  return {};
}

std::string Rule(const std::string& body) { return kHead + "rules:\n  - " + body + "\n"; }

// Rules left open for more keys; `action` is written out because the loader
// asks for it only when it is there.
const std::string kAttr = "{id: r, kind: attribute, when: {field: body.n, gt: 1}";
const std::string kRate = "{id: r, kind: rate_limit, limit: {requests: 1, per: 1m}";

}  // namespace

TEST_CASE("schema.json is a draft-07 schema of one policy file") {
  const json& s = Schema();
  CHECK(s.at("$schema") == "http://json-schema.org/draft-07/schema#");
  CHECK(s.at("type") == "object");
  CHECK(s.at("properties").at("apiVersion").at("const") == "tosgate/v1");
  CHECK(s.at("properties").at("kind").at("const") == "Policy");
}

TEST_CASE("the schema and the loader accept the same top-level and section keys") {
  const json& top = Schema().at("properties");
  CHECK(SchemaKeys(Schema()) == LoaderKeys(kHead + "zz-made-up: 1\n", "zz-made-up"));
  CHECK(SchemaKeys(top.at("metadata")) ==
        LoaderKeys("apiVersion: tosgate/v1\nkind: Policy\nmetadata: {name: t, zz-made-up: 1}\n",
                   "metadata.zz-made-up"));
  CHECK(SchemaKeys(top.at("settings")) ==
        LoaderKeys(kHead + "settings: {zz-made-up: 1}\n", "settings.zz-made-up"));
  const json& identity = top.at("identity");
  CHECK(SchemaKeys(identity) ==
        LoaderKeys(kHead + "identity: {zz-made-up: 1}\n", "identity.zz-made-up"));
  CHECK(SchemaKeys(identity.at("properties").at("trusted_headers")) ==
        LoaderKeys(kHead + "identity: {trusted_headers: {zz-made-up: x}}\n",
                   "identity.trusted_headers.zz-made-up"));
  CHECK(SchemaKeys(identity.at("properties").at("unknown_keys")) ==
        LoaderKeys(kHead + "identity: {unknown_keys: {tier: free, zz-made-up: 1}}\n",
                   "identity.unknown_keys.zz-made-up"));
  CHECK(SchemaKeys(top.at("settings").at("properties").at("unmatched_operation")) ==
        LoaderKeys(kHead + "settings: {unmatched_operation: {zz-made-up: 1}}\n",
                   "settings.unmatched_operation.zz-made-up"));
  CHECK(SchemaKeys(Def("operation")) ==
        LoaderKeys(kHead + "operations: {chat: {paths: [/a], zz-made-up: 1}}\n",
                   "operations.chat.zz-made-up"));
  CHECK(SchemaKeys(top.at("lists").at("additionalProperties")) ==
        LoaderKeys(kHead + "lists: {w: {file: w.txt, zz-made-up: 1}}\n", "lists.w.zz-made-up"));
}

TEST_CASE("the schema and the loader accept the same rule keys, common and per kind") {
  const Keys attribute =
      LoaderKeys(Rule(kAttr + ", action: deny, zz-made-up: 1}"), "rules[0].zz-made-up");
  const Keys rate =
      LoaderKeys(Rule(kRate + ", action: throttle, zz-made-up: 1}"), "rules[0].zz-made-up");
  Keys common;
  for (const std::string& k : attribute)
    if (rate.contains(k)) common.insert(k);
  CHECK(SchemaKeys(Def("ruleCommon"), false) == common);
  CHECK(SchemaKeys(Def("attributeRule")) == attribute);
  CHECK(SchemaKeys(Def("rateLimitRule")) == rate);
  CHECK(SchemaKeys(Def("tokenBudgetRule")) ==
        LoaderKeys(Rule("{id: r, kind: token_budget, limit: {tokens: 1, per: 1m}, zz-made-up: 1}"),
                   "rules[0].zz-made-up"));
  CHECK(SchemaKeys(Def("contentRule")) ==
        LoaderKeys(Rule("{id: r, kind: content, patterns: [{id: p, word: x}], zz-made-up: 1}"),
                   "rules[0].zz-made-up"));
  CHECK(SchemaKeys(Def("match")) ==
        LoaderKeys(Rule(kAttr + ", match: {zz-made-up: 1}}"), "rules[0].match.zz-made-up"));
  const std::string guard =
      "{id: r, kind: guard, endpoint: 'http://127.0.0.1:1/v1/moderations', "
      "format: openai-moderation";
  CHECK(SchemaKeys(Def("guardRule")) == LoaderKeys(Rule(guard + ", zz-made-up: 1}"), "rules[0].zz-made-up"));
  CHECK(SchemaKeys(Def("guardRule").at("properties").at("cache")) ==
        LoaderKeys(Rule(guard + ", cache: {zz-made-up: 1}}"), "rules[0].cache.zz-made-up"));
}

TEST_CASE("the schema covers every rule kind the loader knows, and no other") {
  Keys loader;
  for (const policies::KindSpec& k : policies::Kinds()) loader.insert(std::string(k.name));
  CHECK(EnumOf(Def("ruleCommon").at("properties").at("kind")) == loader);
  Keys dispatched;
  for (const json& branch : Def("rule").at("allOf")) {
    const std::string kind = branch.at("if").at("properties").at("kind").at("const");
    dispatched.insert(kind);
    const std::string ref = branch.at("then").at("$ref");
    CHECK(ref.rfind("#/definitions/", 0) == 0);
    CHECK(Schema().at("definitions").contains(ref.substr(14)));
  }
  CHECK(dispatched == loader);
}

TEST_CASE("the schema and the loader accept the same rate limit keys") {
  const json& rate = Def("rateLimitRule").at("properties");
  CHECK(SchemaKeys(Def("rateLimit")) ==
        LoaderKeys(Rule("{id: r, kind: rate_limit, limit: {requests: 1, per: 1m, zz-made-up: 1}}"),
                   "rules[0].limit.zz-made-up"));
  CHECK(SchemaKeys(Def("rateLimit")) ==
        LoaderKeys(Rule("{id: r, kind: rate_limit, limit: {free: {requests: 1, per: 1m, "
                        "zz-made-up: 1}}}"),
                   "rules[0].limit.free.zz-made-up"));
  const json& delay_form = rate.at("action").at("oneOf").at(1);
  CHECK(SchemaKeys(delay_form) ==
        LoaderKeys(Rule(kRate + ", action: {delay: {max: 2s}, zz-made-up: 1}}"),
                   "rules[0].action.zz-made-up"));
  CHECK(SchemaKeys(delay_form.at("properties").at("delay")) ==
        LoaderKeys(Rule(kRate + ", action: {delay: {max: 2s, zz-made-up: 1}}}"),
                   "rules[0].action.delay.zz-made-up"));
  CHECK(SchemaKeys(Def("concurrencyLimit")) ==
        LoaderKeys(Rule("{id: r, kind: rate_limit, limit: {concurrent: 1, zz-made-up: 1}}"),
                   "rules[0].limit.zz-made-up"));
  CHECK(SchemaKeys(Def("tokenBudget")) ==
        LoaderKeys(Rule("{id: r, kind: token_budget, limit: {tokens: 1, per: 1m, zz-made-up: 1}}"),
                   "rules[0].limit.zz-made-up"));
  CHECK(EnumOf(rate.at("scope").at("items").at("anyOf").at(0)) ==
        LoaderValues(Rule(kRate + ", scope: [zz-bogus]}"), "rules[0].scope[0]"));
}

TEST_CASE("the schema and the loader accept the same condition forms and operators") {
  Keys loader = LoaderKeys(Rule("{id: r, kind: attribute, when: {field: body.n, gt: 1, "
                                "zz-made-up: 1}}"),
                           "rules[0].when.zz-made-up");
  // `matches` is read only to say it is not supported yet; the schema leaves
  // it out so that editors flag it too.
  CHECK(loader.erase("matches") == 1);
  // The map is read as a group ({all: ...}, {any: ...}, {not: ...}) when it
  // has one of those keys, so the loader names them too.
  Keys loader_groups;
  for (const char* group : {"all", "any", "not"})
    if (loader.erase(group) == 1) loader_groups.insert(group);
  CHECK(SchemaKeys(Def("comparison")) == loader);

  Keys operators;
  for (const json& one : Def("comparison").at("oneOf")) {
    REQUIRE(one.at("required").size() == 1);
    operators.insert(one.at("required").at(0).get<std::string>());
  }
  loader.erase("field");
  CHECK(operators == loader);

  // The groups: each form the schema lists loads, and is strict.
  Keys groups;
  for (const json& form : Def("condition").at("oneOf")) {
    const std::string ref = form.at("$ref");
    if (ref == "#/definitions/comparison") continue;
    const json& def = Def(ref.substr(14));
    for (const std::string& key : SchemaKeys(def)) {
      groups.insert(key);
      const std::string operand =
          key == "not" ? "{field: body.n, gt: 1}" : "[{field: body.n, gt: 1}]";
      const policies::LoadResult r =
          LoadOne(Rule("{id: r, kind: attribute, when: {" + key + ": " + operand + "}}"));
      CHECK_MESSAGE(r.errors.empty(), key << ": " << AllErrors(r));
    }
  }
  CHECK(groups == loader_groups);
  CHECK(groups == Keys{"all", "any", "not"});
}

TEST_CASE("the schema and the loader accept the same values for settings and rule enums") {
  const json& top = Schema().at("properties");
  const json& settings = top.at("settings").at("properties");
  CHECK(EnumOf(settings.at("mode")) ==
        LoaderValues(kHead + "settings: {mode: zz-bogus}\n", "settings.mode"));
  CHECK(EnumOf(settings.at("failure_mode")) ==
        LoaderValues(kHead + "settings: {failure_mode: zz-bogus}\n", "settings.failure_mode"));
  CHECK(EnumOf(settings.at("unmatched_operation").at("properties").at("action")) ==
        LoaderValues(kHead + "settings: {unmatched_operation: {action: zz-bogus}}\n",
                     "settings.unmatched_operation.action"));
  CHECK(EnumOf(
            top.at("identity").at("properties").at("unknown_keys").at("properties").at("action")) ==
        LoaderValues(kHead + "identity: {unknown_keys: {action: zz-bogus}}\n",
                     "identity.unknown_keys.action"));
  const json& common = Def("ruleCommon").at("properties");
  CHECK(EnumOf(common.at("mode")) ==
        LoaderValues(Rule(kAttr + ", mode: zz-bogus}"), "rules[0].mode"));
  CHECK(EnumOf(common.at("action")) ==
        LoaderValues(Rule(kAttr + ", action: zz-bogus}"), "rules[0].action"));
  CHECK(EnumOf(Def("rateLimitRule").at("properties").at("action").at("oneOf").at(0)) ==
        LoaderValues(Rule(kRate + ", action: zz-bogus}"), "rules[0].action"));
}

TEST_CASE("the schema's field names are the engine's") {
  const json& any_of = Def("fieldName").at("anyOf");
  Keys engine_names;
  for (const std::string& name : engine::AllFieldNames())
    if (name != "request.header.<name>") engine_names.insert(name);
  CHECK(EnumOf(any_of.at(0)) == engine_names);
  for (const std::string& name : EnumOf(any_of.at(0))) {
    CAPTURE(name);
    CHECK(engine::ResolveField(name).has_value());
  }
  const std::regex header(any_of.at(1).at("pattern").get<std::string>());
  CHECK(std::regex_search("request.header.x-usage-purpose", header));
  CHECK(engine::ResolveField("request.header.x-usage-purpose").has_value());
  CHECK_FALSE(std::regex_search("request.header.", header));
  CHECK_FALSE(std::regex_search("request.headers", header));
}

TEST_CASE("the schema's duration pattern accepts what the loader accepts") {
  const std::regex duration(Def("duration").at("pattern").get<std::string>());
  for (const char* good : {"500ms", "30s", "1m", "1h", "1d", "30d", "10s"}) {
    const std::string text = good;
    CAPTURE(text);
    CHECK(std::regex_search(text, duration));
    // Windows start at 1s; a delay's max takes shorter ones.
    const std::string rule = text == "500ms"
                                 ? kRate + ", action: {delay: {max: " + text + "}}}"
                                 : "{id: r, kind: rate_limit, limit: {requests: 1, per: " + text + "}}";
    CHECK(LoadOne(Rule(rule)).errors.empty());
  }
  for (const char* bad : {"1x", "0s", "1.5s", "s", "1", "-1s", "1 s"}) {
    const std::string text = bad;
    CAPTURE(text);
    CHECK_FALSE(std::regex_search(text, duration));
    CHECK_FALSE(
        LoadOne(Rule("{id: r, kind: rate_limit, limit: {requests: 1, per: '" + text + "'}}"))
            .errors.empty());
  }
}

TEST_CASE("the default pack names the schema for editors") {
  std::ifstream in(TOSGATE_SOURCE_DIR "/policies/packs/default/policy.yaml");
  std::string first;
  REQUIRE(std::getline(in, first));
  CHECK(first == "# yaml-language-server: $schema=../../schema.json");
}

TEST_CASE("the schema and the loader accept the same prices and cost budget keys") {
  const json& top = Schema().at("properties");
  CHECK(SchemaKeys(top.at("prices")) ==
        LoaderKeys(kHead + "prices: {zz-made-up: 1}\n", "prices.zz-made-up"));
  CHECK(SchemaKeys(Def("modelPrice")) ==
        LoaderKeys(kHead + "prices: {models: {m: {input: 1, output: 1, zz-made-up: 1}}}\n",
                   "prices.models.m.zz-made-up"));
  const std::string prices = "prices: {models: {m: {input: 1, output: 2}}}\n";
  CHECK(SchemaKeys(Def("costBudgetRule")) ==
        LoaderKeys(Rule("{id: r, kind: cost_budget, limit: {usd: 1, per: 1d}, zz-made-up: 1}") +
                       prices,
                   "rules[0].zz-made-up"));
  CHECK(SchemaKeys(Def("costBudget")) ==
        LoaderKeys(Rule("{id: r, kind: cost_budget, limit: {usd: 1, per: 1d, zz-made-up: 1}}") +
                       prices,
                   "rules[0].limit.zz-made-up"));
  CHECK(EnumOf(Def("costBudget").at("properties").at("per")) ==
        LoaderValues(Rule("{id: r, kind: cost_budget, limit: {usd: 1, per: 1h}}") + prices,
                     "rules[0].limit.per"));
}
