// Campaign indicators: STIX 2.1 bundles written and read (policies/stix.h),
// the keyed hashes they carry, and `kind: indicators` raising a
// competitor_training rule's accounts (engine/indicators/).
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/condition.h"
#include "engine/distill/behavior_store.h"
#include "engine/engine.h"
#include "engine/indicators/indicators_rule.h"
#include "engine/indicators/keyed_hash.h"
#include "engine/indicators/request_print.h"
#include "engine/rules/competitor_training.h"
#include "engine/state_store.h"
#include "policies/stix.h"
#include "test_support.h"
#include "tosgate/clock.h"

using namespace tosgate;
using test::AllErrors;
using test::kHead;

namespace {

constexpr int64_t kNow = 1'796'000'000'000;  // 2026-11-29T...Z
constexpr int64_t kDay = 86'400'000;
const std::string kKey = "partners-shared-key-0123456789";

policies::StixCampaignExport SampleCampaign() {
  policies::StixCampaignExport c;
  c.key = "distill.competitor-training/cluster-1";
  c.name = "distillation campaign 1";
  c.description = "40 accounts confirmed by review; 3 address ranges, 2 payment and 2 device fingerprints";
  c.confidence = 80;
  c.first_seen_ms = kNow - 3 * kDay;
  c.last_seen_ms = kNow - kDay;
  c.address_ranges = {"198.51.100.0/24", "2001:db8:7::/48"};
  c.payment_hmacs = {engine::KeyedFingerprint(kKey, engine::KeyedKind::kPayment, "card-4242")};
  c.device_hmacs = {engine::KeyedFingerprint(kKey, engine::KeyedKind::kDevice, "device-77")};
  // A harvest template's keyed SimHash and the campaign's request shape
  // (engine/indicators/request_print.h).
  c.template_prints = {engine::TemplateHex(engine::TemplateKey(kKey).Apply(0x5a5a00ff12345678ULL))};
  c.shape_profiles = {"family=gpt;effort=high;n=1;temperature=0.5-1;max_tokens=8k-32k;logprobs=yes"};
  return c;
}

std::string SampleBundle(int64_t now = kNow) {
  policies::StixExportOptions o;
  o.producer = "Example AI Provider";
  o.now_ms = now;
  Result<std::string> b = policies::WriteStixBundle({SampleCampaign()}, o);
  REQUIRE(b.ok());
  return *b;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("keyed fingerprints are HMAC-SHA-256 (RFC 4231 test case 2) under a label") {
  CHECK(engine::HmacSha256Hex("Jefe", "what do ya want for nothing?") ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // A key longer than the block is hashed first (RFC 4231 test case 6).
  CHECK(engine::HmacSha256Hex(std::string(131, '\xaa'),
                              "Test Using Larger Than Block-Size Key - Hash Key First") ==
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  const std::string p = engine::KeyedFingerprint(kKey, engine::KeyedKind::kPayment, "x");
  CHECK(p != engine::KeyedFingerprint(kKey, engine::KeyedKind::kDevice, "x"));
  CHECK(p != engine::KeyedFingerprint("another-key-of-enough-length", engine::KeyedKind::kPayment, "x"));
}

TEST_CASE("STIX timestamps and ids have the schema's shapes") {
  CHECK(policies::StixTimestamp(0) == "1970-01-01T00:00:00.000Z");
  CHECK(policies::StixTimestamp(1'767'225'600'123) == "2026-01-01T00:00:00.123Z");
  int64_t ms = 0;
  REQUIRE(policies::ParseStixTimestamp("2026-01-01T00:00:00.123456Z", &ms));
  CHECK(ms == 1'767'225'600'123);
  REQUIRE(policies::ParseStixTimestamp("2026-01-01T00:00:01Z", &ms));
  CHECK(ms == 1'767'225'601'000);
  CHECK_FALSE(policies::ParseStixTimestamp("2026-01-01 00:00:01Z", &ms));
  CHECK_FALSE(policies::ParseStixTimestamp("2026-01-01T00:00:01+01:00", &ms));
  const std::string id = policies::StixId("indicator", "seed");
  CHECK(id == policies::StixId("indicator", "seed"));
  CHECK(id != policies::StixId("indicator", "other"));
  REQUIRE(id.size() == std::string("indicator--").size() + 36);
  CHECK(id[11 + 14] == '5');
  CHECK(std::string("89ab").find(id[11 + 19]) != std::string::npos);
}

TEST_CASE("an exported bundle carries ranges and keyed hashes only, and imports back") {
  const std::string bundle = SampleBundle();
  CHECK(bundle.find("card-4242") == std::string::npos);
  CHECK(bundle.find("device-77") == std::string::npos);
  CHECK(bundle.find("TLP:AMBER") != std::string::npos);
  engine::IndicatorSet set;
  policies::StixImportReport report;
  REQUIRE(policies::ImportStixBundle(bundle, "partner-a", 0.5, kNow, {}, &set, &report).ok());
  CHECK(report.messages.empty());
  CHECK(report.indicators == 6);  // 2 ranges, 2 keyed hashes, a template, a shape
  CHECK(report.campaigns == 1);
  REQUIRE(set.campaigns().size() == 1);
  CHECK(set.campaigns()[0].name == "distillation campaign 1");

  std::array<uint8_t, 16> in_range, v6, outside;
  REQUIRE(engine::ParseIp("198.51.100.200", &in_range));
  REQUIRE(engine::ParseIp("2001:db8:7:0:1::9", &v6));
  REQUIRE(engine::ParseIp("198.51.101.1", &outside));
  const engine::IndicatorEntry* e = set.Match(&in_range, "", "", kNow);
  REQUIRE(e);
  CHECK(e->weight == doctest::Approx(0.4));  // trust 0.5 x confidence 80
  CHECK(e->campaign == 0);
  CHECK(e->source == "partner-a");
  CHECK(set.Match(&v6, "", "", kNow));
  CHECK_FALSE(set.Match(&outside, "", "", kNow));
  const std::string pay = engine::KeyedFingerprint(kKey, engine::KeyedKind::kPayment, "card-4242");
  const std::string dev = engine::KeyedFingerprint(kKey, engine::KeyedKind::kDevice, "device-77");
  CHECK(set.Match(nullptr, pay, "", kNow));
  CHECK(set.Match(nullptr, "", dev, kNow));
  CHECK_FALSE(set.Match(nullptr, dev, "", kNow));  // a device hash is not a payment hash
  // Validity is checked at match time: before valid_from, after valid_until.
  CHECK_FALSE(set.Match(&in_range, "", "", kNow - 1));
  CHECK_FALSE(set.Match(&in_range, "", "", kNow + 30 * kDay));
}

TEST_CASE("the sample bundle in docs/ is what the exporter writes") {
  // tests/CMakeLists.txt validates docs/indicators-sample.json against the
  // OASIS STIX 2.1 schemas (stix_schema_test), so the exporter's output is.
  // TOSGATE_WRITE_SAMPLE=1 writes it afresh after a deliberate change.
  if (std::getenv("TOSGATE_WRITE_SAMPLE"))
    std::ofstream(TOSGATE_SOURCE_DIR "/docs/indicators-sample.json", std::ios::binary) << SampleBundle();
  CHECK(Slurp(TOSGATE_SOURCE_DIR "/docs/indicators-sample.json") == SampleBundle());
}

TEST_CASE("a bundle that is not JSON, not a bundle or oversize is refused as a whole") {
  engine::IndicatorSet set;
  policies::StixImportReport r;
  CHECK(policies::ImportStixBundle("{nope", "p", 1, 0, {}, &set, &r).message() ==
        "the bundle is not valid JSON");
  CHECK(policies::ImportStixBundle(R"({"type": "indicator"})", "p", 1, 0, {}, &set, &r)
            .message()
            .find("not a STIX bundle") == 0);
  policies::StixLimits small;
  small.max_bytes = 100;
  CHECK(policies::ImportStixBundle(SampleBundle(), "p", 1, 0, small, &set, &r).message().find(
            "over the limit of 100") != std::string::npos);
  small = {};
  small.max_objects = 3;
  CHECK(policies::ImportStixBundle(SampleBundle(), "p", 1, 0, small, &set, &r).message().find(
            "objects, over the limit of 3") != std::string::npos);
  CHECK(set.size() == 0);
}

TEST_CASE("malformed, unknown, revoked and expired indicators are ignored, each with a message") {
  auto ind = [](std::string id, std::string pattern, std::string extra = "") {
    return R"({"type": "indicator", "spec_version": "2.1", "id": "indicator--)" + id +
           R"(", "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
             "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z", "pattern": ")" +
           pattern + "\"" + extra + "}";
  };
  const std::string bundle =
      R"({"type": "bundle", "id": "bundle--1", "objects": [)" +
      ind("ok", "[ipv4-addr:value = '192.0.2.0/24']") + "," +
      ind("malformed", "[ipv4-addr:value = '192.0.2.0/24'") + "," +
      ind("two", "[ipv4-addr:value = '192.0.2.1' OR ipv4-addr:value = '192.0.2.2']") + "," +
      ind("observable", "[file:hashes.MD5 = 'abc']") + "," +
      ind("notip", "[ipv4-addr:value = 'example.com']") + "," +
      ind("wide", "[ipv4-addr:value ISSUBSET '10.0.0.0/7']") + "," +
      ind("hash", "[x-tosgate-account:payment_hmac = 'card-4242']") + "," +
      ind("revoked", "[ipv4-addr:value = '192.0.2.9']", R"(, "revoked": true)") + "," +
      ind("expired", "[ipv4-addr:value = '192.0.2.9']", R"(, "valid_until": "2026-02-01T00:00:00Z")") + "," +
      ind("conf", "[ipv4-addr:value = '192.0.2.9']", R"(, "confidence": 101)") + "," +
      ind("yara", "rule x {}") + "," +
      R"({"type": "malware", "id": "malware--1"}, 7]})";
  engine::IndicatorSet set;
  policies::StixImportReport r;
  REQUIRE(policies::ImportStixBundle(bundle, "p", 1, kNow, {}, &set, &r).ok());
  std::string all;
  for (const std::string& m : r.messages) all += m + "\n";
  INFO(all);
  CHECK(r.indicators == 1);
  CHECK(set.size() == 1);
  CHECK(r.expired == 1);
  CHECK(r.ignored == 12);
  CHECK(all.find("indicator--malformed: malformed pattern") != std::string::npos);
  CHECK(all.find("indicator--two: malformed pattern: only one comparison") != std::string::npos);
  CHECK(all.find("indicator--observable: observable file:hashes.MD5 is not one tosgate matches") !=
        std::string::npos);
  CHECK(all.find("indicator--notip: 'example.com' is not an ipv4-addr") != std::string::npos);
  CHECK(all.find("indicator--wide: range 10.0.0.0/7 is wider than /8") != std::string::npos);
  CHECK(all.find("indicator--hash: a keyed hash is 64 lower-case hex digits") != std::string::npos);
  CHECK(all.find("indicator--revoked: revoked") != std::string::npos);
  CHECK(all.find("indicator--expired: expired at 2026-02-01T00:00:00Z") != std::string::npos);
  CHECK(all.find("indicator--conf: confidence must be an integer") != std::string::npos);
  CHECK(all.find("malware--1: type \"malware\" is not one tosgate reads") != std::string::npos);
  CHECK(all.find("an object: not an object") != std::string::npos);
}

namespace {

std::string IndicatorsPolicy(const std::string& extra = "") {
  return kHead +
         "settings: {unmatched_operation: {action: allow}}\n"
         "rules:\n"
         "  - id: intel.partners\n"
         "    kind: indicators\n"
         "    sources: [{name: partner-a, file: intel/partner-a.json, weight: 0.9}]\n"
         "    key_file: intel/partners.key\n"
         "    raise: {rule: distill, max: 0.8}\n" +
         extra +
         "  - id: distill\n"
         "    kind: competitor_training\n"
         "    thresholds: {flag: 0.5, review: 0.7}\n";
}

policies::LoadResult LoadWithBundle(const std::string& policy) {
  return policies::LoadPolicyFiles({{"p.yaml", policy},
                                    {"intel/partner-a.json", SampleBundle()},
                                    {"intel/partners.key", kKey + "\n"}});
}

}  // namespace

TEST_CASE("an indicators rule flags a matching account and raises it under competitor_training") {
  const policies::LoadResult r = LoadWithBundle(IndicatorsPolicy());
  INFO(AllErrors(r));
  REQUIRE(r.snapshot);
  FakeClock clock{kNow + kDay};
  auto state = engine::NewMemoryStateStore();
  auto behavior = engine::NewMemoryBehaviorStore();
  engine::Engine eng(engine::EngineOptions{&clock, state.get(), nullptr, nullptr, 1000, behavior.get()});
  eng.Publish(r.snapshot);

  auto request = [](std::string account, std::string ip, std::string payment = "") {
    Request q;
    q.method = "POST";
    q.path = "/v1/chat/completions";
    q.client_ip = std::move(ip);
    Account a;
    a.id = std::move(account);
    a.payment_fingerprint = std::move(payment);
    q.account = a;
    return q;
  };
  auto analyzer_risk = [&](const std::string& account) {
    float risk = -1;
    behavior->Update(engine::BehaviorKey("distill", account), 0,
                     [&](engine::AccountBehavior& st) { risk = st.analyzer_risk; });
    return risk;
  };
  // By address range, on the first request.
  Decision d = eng.Check(request("fresh-1", "198.51.100.9"));
  REQUIRE(d.matches.size() >= 1);
  CHECK(d.matches[0].rule_id == "intel.partners");
  CHECK(d.matches[0].action == Action::kFlag);
  CHECK(d.matches[0].detail.find("matches partner-a's indicator indicator--") == 0);
  CHECK(d.matches[0].detail.find("(address range) of campaign \"distillation campaign 1\"") !=
        std::string::npos);
  CHECK(d.effect == Effect::kAllow);  // flagged, never denied on imported indicators alone
  CHECK(analyzer_risk("fresh-1") == doctest::Approx(0.8 * 0.9 * 0.8));
  // By keyed payment fingerprint, from another address.
  d = eng.Check(request("fresh-2", "203.0.113.50", "card-4242"));
  REQUIRE_FALSE(d.matches.empty());
  CHECK(d.matches[0].detail.find("(payment fingerprint)") != std::string::npos);
  // Neither: nothing raised.
  d = eng.Check(request("bystander", "203.0.113.50", "card-1111"));
  CHECK(d.matches.empty());
  CHECK(analyzer_risk("bystander") == 0);
  // After valid_until (30 days), the indicators are out of force.
  clock.advance_ms(31 * kDay);
  d = eng.Check(request("fresh-3", "198.51.100.9"));
  CHECK(d.matches.empty());
}

TEST_CASE("an indicators rule denies only when the policy says allow_deny: true") {
  policies::LoadResult r = LoadWithBundle(IndicatorsPolicy("    action: deny\n"));
  CHECK(test::HasError(r, "p.yaml:6:"));
  CHECK(AllErrors(r).find("denies only with allow_deny: true") != std::string::npos);
  r = LoadWithBundle(IndicatorsPolicy("    action: deny\n    allow_deny: true\n"));
  CHECK(r.errors.empty());
}

TEST_CASE("an indicators rule reports a missing or unreadable bundle and a short key") {
  policies::LoadResult r = policies::LoadPolicyFiles({{"p.yaml", IndicatorsPolicy()}});
  CHECK(AllErrors(r).find("rules[0].sources[0].file: file \"intel/partner-a.json\" not found") !=
        std::string::npos);
  r = policies::LoadPolicyFiles({{"p.yaml", IndicatorsPolicy()},
                                 {"intel/partner-a.json", "[1, 2]"},
                                 {"intel/partners.key", "short\n"}});
  const std::string all = AllErrors(r);
  CHECK(all.find("bundle \"intel/partner-a.json\": not a STIX bundle") != std::string::npos);
  CHECK(all.find("the key file holds 5 bytes; a partners' key needs at least 16") != std::string::npos);
}

TEST_CASE("an indicators source is a file or a feed, not both, and a feed needs no file") {
  const std::string head = kHead + "rules:\n  - id: r\n    kind: indicators\n    sources:\n";
  policies::LoadResult r = test::LoadOne(head + "      - {name: a, feed: policy-test-feed, weight: 0.5}\n");
  INFO(AllErrors(r));
  CHECK(r.errors.empty());
  r = test::LoadOne(head + "      - {name: a, feed: f, file: x.json}\n");
  CHECK(AllErrors(r).find("a source has either file (a bundle) or feed") != std::string::npos);
  r = test::LoadOne(head + "      - {name: a}\n");
  CHECK(AllErrors(r).find("a source has either file (a bundle) or feed") != std::string::npos);
  std::string nine = head;
  for (int i = 0; i < 9; ++i) nine += "      - {name: a" + std::to_string(i) + ", feed: f" + std::to_string(i) + "}\n";
  CHECK(AllErrors(test::LoadOne(nine)).find("at most 8 feeds") != std::string::npos);
}

TEST_CASE("policies/schema.json's indicatorsRule lists the keys the loader asks for") {
  std::ifstream in(TOSGATE_SOURCE_DIR "/policies/schema.json");
  const nlohmann::json schema = nlohmann::json::parse(in);
  const nlohmann::json& def = schema.at("definitions").at("indicatorsRule");
  std::set<std::string> want, raise;
  for (const auto& kv : def.at("properties").items()) want.insert(kv.key());
  for (const auto& kv : def.at("properties").at("raise").at("properties").items()) raise.insert(kv.key());
  auto asked = [](const std::string& yaml, const std::string& at) {
    const policies::LoadResult r = test::LoadOne(yaml);
    const std::string prefix = "unknown key; expected one of: ";
    std::set<std::string> out;
    for (const policies::Diagnostic& d : r.errors) {
      if (d.key != at || d.message.rfind(prefix, 0) != 0) continue;
      std::string list = d.message.substr(prefix.size());
      for (size_t pos; (pos = list.find(", ")) != std::string::npos; list.erase(0, pos + 2))
        out.insert(list.substr(0, pos));
      out.insert(list);
    }
    return out;
  };
  CHECK(asked(kHead + "rules:\n  - {id: r, kind: indicators, sources: [], zz-made-up: 1}\n",
              "rules[0].zz-made-up") == want);
  CHECK(asked(kHead + "rules:\n  - {id: r, kind: indicators, sources: [], raise: {rule: d, zz-made-up: 1}}\n",
              "rules[0].raise.zz-made-up") == raise);
}
