// Harvest-template fingerprints and request-shape profiles as shared
// indicators (engine/indicators/request_print.h): keyed so that no prompt
// text leaves, exported as STIX patterns, imported, and matched by an
// `indicators` rule - within template_distance bits, a shape at its weight
// x shape_weight - and recorded for export with `record: true`.
#include <doctest/doctest.h>

#include "engine/distill/text_features.h"
#include "engine/engine.h"
#include "engine/indicators/evidence.h"
#include "engine/indicators/request_print.h"
#include "engine/state_store.h"
#include "policies/stix.h"
#include "test_support.h"
#include "tosgate/clock.h"

using namespace tosgate;
using test::AllErrors;
using test::kHead;

namespace {

constexpr int64_t kNow = 1'796'000'000'000;
const std::string kKey = "partners-shared-key-0123456789";

// One harvest template, its varying slot at the end, as campaigns send it.
std::string Harvest(const std::string& topic) {
  return "You are a meticulous domain expert. Explain your full chain of reasoning step by step, "
         "list every assumption you make, then give a detailed final answer with examples. "
         "Topic: " + topic;
}

RequestBody Body(const std::string& text) {
  RequestBody b;
  b.present = true;
  b.model = "gpt-4o-2024-08-06";
  b.user_text = text;
  b.prompt_text = text;
  b.max_tokens = 16000;
  b.reasoning_effort = "high";
  b.temperature = 0.7;
  b.logprobs = true;
  return b;
}

uint64_t Print(const std::string& text) {
  uint64_t s = 0;
  REQUIRE(engine::RequestSimHash(Body(text), &s));
  return s;
}

const char* kShape = "family=gpt;effort=high;n=1;temperature=0.5-1;max_tokens=8k-32k;logprobs=yes";

std::string Bundle(std::vector<std::string> templates, std::vector<std::string> shapes) {
  policies::StixCampaignExport c;
  c.key = "k";
  c.name = "distillation campaign 1";
  c.confidence = 100;
  c.template_prints = std::move(templates);
  c.shape_profiles = std::move(shapes);
  policies::StixExportOptions o;
  o.now_ms = kNow - 1000;
  Result<std::string> b = policies::WriteStixBundle({c}, o);
  REQUIRE(b.ok());
  return *b;
}

std::string Policy(const std::string& extra = "") {
  return kHead +
         "settings: {unmatched_operation: {action: allow}}\n"
         "rules:\n"
         "  - id: intel.partners\n"
         "    kind: indicators\n"
         "    sources: [{name: partner-a, file: intel/partner-a.json, weight: 0.8}]\n"
         "    key_file: intel/partners.key\n" +
         extra;
}

Request Chat(const std::string& account, RequestBody body) {
  Request q;
  q.method = "POST";
  q.path = "/v1/chat/completions";
  q.client_ip = "192.0.2.1";
  Account a;
  a.id = account;
  q.account = a;
  q.body = std::move(body);
  return q;
}

}  // namespace

TEST_CASE("template fingerprints: one template's fills stay close after keying; the key decides") {
  const uint64_t a = Print(Harvest("photosynthesis in desert plants"));
  const uint64_t b = Print(Harvest("the causes of the French revolution"));
  const uint64_t other = Print("Could you suggest a name for my cat? She is grey, quiet and likes to sleep on the radiator all day.");
  CHECK(engine::HammingDistance(a, b) <= 12);
  CHECK(engine::HammingDistance(a, other) > 20);
  const engine::TemplateKey key(kKey), other_key("another-partners-key-987654321");
  // Keying keeps every distance (a permutation and an XOR of the bits).
  CHECK(engine::HammingDistance(key.Apply(a), key.Apply(b)) == engine::HammingDistance(a, b));
  CHECK(engine::HammingDistance(key.Apply(a), key.Apply(other)) == engine::HammingDistance(a, other));
  CHECK(key.Apply(a) != a);
  // Under another key the same prompt's print is unrelated.
  CHECK(engine::HammingDistance(key.Apply(a), other_key.Apply(a)) > 12);
  uint64_t back = 0;
  REQUIRE(engine::ParseTemplateHex(engine::TemplateHex(key.Apply(a)), &back));
  CHECK(back == key.Apply(a));
  CHECK_FALSE(engine::ParseTemplateHex("0123456789ABCDEF", &back));
  CHECK_FALSE(engine::ParseTemplateHex("0123", &back));
  RequestBody empty;
  CHECK_FALSE(engine::RequestSimHash(empty, &back));
}

TEST_CASE("shape profiles are coarse buckets, and import accepts nothing else") {
  CHECK(engine::ShapeProfile(Body("x")) == kShape);
  RequestBody plain;
  plain.model = "claude-sonnet-4-5-20250929";
  plain.max_tokens = 200;
  plain.n = 3;
  plain.temperature = 0;
  CHECK(engine::ShapeProfile(plain) == "family=claude;effort=none;n=2-4;temperature=0;max_tokens=0-256;logprobs=no");
  RequestBody none;
  CHECK(engine::ShapeProfile(none) == "family=unknown;effort=none;n=1;temperature=default;max_tokens=unset;logprobs=no");
  CHECK(engine::ValidShapeProfile(kShape));
  CHECK_FALSE(engine::ValidShapeProfile("family=gpt-4o-2024;effort=high;n=1;temperature=0.5-1;max_tokens=8k-32k;logprobs=yes"));
  CHECK_FALSE(engine::ValidShapeProfile("family=gpt;effort=high;n=1;temperature=0.73;max_tokens=8k-32k;logprobs=yes"));
  CHECK_FALSE(engine::ValidShapeProfile("family=gpt;effort=high"));
  CHECK_FALSE(engine::ValidShapeProfile("Explain your reasoning step by step"));

  engine::IndicatorSet set;
  policies::StixImportReport report;
  const std::string bundle = Bundle({"zz", "0123456789abcdef"}, {"free text here", kShape});
  REQUIRE(policies::ImportStixBundle(bundle, "p", 1, kNow, {}, &set, &report).ok());
  CHECK(report.indicators == 2);
  CHECK(report.ignored == 2);
  const std::string all = [&] { std::string s; for (auto& m : report.messages) s += m + "\n"; return s; }();
  CHECK(all.find("a template fingerprint is 16 lower-case hex digits") != std::string::npos);
  CHECK(all.find("'free text here' is not a shape profile") != std::string::npos);
  CHECK(set.has_templates());
  CHECK(set.has_shapes());
}

TEST_CASE("a source holds at most 1024 template fingerprints; the rest are ignored with a message") {
  std::vector<std::string> many;
  for (int i = 0; i < 1030; ++i) many.push_back(engine::TemplateHex(0x1000 + i));
  engine::IndicatorSet set;
  policies::StixImportReport report;
  REQUIRE(policies::ImportStixBundle(Bundle(many, {}), "p", 1, kNow, {}, &set, &report).ok());
  CHECK(report.indicators == 1024);
  CHECK(report.ignored == 6);
  CHECK(report.messages[0].find("more than 1024 template fingerprints") != std::string::npos);
}

TEST_CASE("an indicators rule matches a partner's harvest template within template_distance, and a shape at shape_weight") {
  const engine::TemplateKey key(kKey);
  const std::string print = engine::TemplateHex(key.Apply(Print(Harvest("photosynthesis in desert plants"))));
  const policies::LoadResult r = policies::LoadPolicyFiles(
      {{"p.yaml", Policy("    template_distance: 12\n    shape_weight: 0.5\n")},
       {"intel/partner-a.json", Bundle({print}, {kShape})},
       {"intel/partners.key", kKey + "\n"}});
  INFO(AllErrors(r));
  REQUIRE(r.snapshot);
  FakeClock clock{kNow};
  auto state = engine::NewMemoryStateStore();
  engine::Engine eng(engine::EngineOptions{&clock, state.get(), nullptr, nullptr});
  eng.Publish(r.snapshot);

  // Another fill of the template, on a fresh account's first request.
  Decision d = eng.Check(Chat("fresh-1", Body(Harvest("the causes of the French revolution"))));
  REQUIRE(d.matches.size() == 1);
  CHECK(d.matches[0].detail.find("(harvest-template fingerprint) of campaign \"distillation campaign 1\", weight 0.80") !=
        std::string::npos);
  // The shape alone (an honest prompt sent with the campaign's parameters):
  // half the weight.
  d = eng.Check(Chat("fresh-2", Body("Could you suggest a name for my cat? She is grey, quiet and likes the radiator.")));
  REQUIRE(d.matches.size() == 1);
  CHECK(d.matches[0].detail.find("(request-shape profile)") != std::string::npos);
  CHECK(d.matches[0].detail.find("weight 0.40") != std::string::npos);
  // Neither: another shape, another text.
  RequestBody plain = Body("Could you suggest a name for my cat? She is grey, quiet and likes the radiator.");
  plain.reasoning_effort.clear();
  plain.logprobs = false;
  d = eng.Check(Chat("bystander", plain));
  CHECK(d.matches.empty());

  // Under another key the same template does not match.
  const policies::LoadResult wrong = policies::LoadPolicyFiles(
      {{"p.yaml", Policy()},
       {"intel/partner-a.json", Bundle({print}, {})},
       {"intel/partners.key", "another-partners-key-987654321\n"}});
  REQUIRE(wrong.snapshot);
  eng.Publish(wrong.snapshot);
  d = eng.Check(Chat("fresh-3", Body(Harvest("the causes of the French revolution"))));
  CHECK(d.matches.empty());
}

TEST_CASE("record: true keeps each account's prompt SimHashes and shapes for export; bad settings are errors") {
  const policies::LoadResult r = policies::LoadPolicyFiles(
      {{"p.yaml", kHead +
                      "settings: {unmatched_operation: {action: allow}}\n"
                      "rules:\n"
                      "  - {id: intel.record, kind: indicators, sources: [], record: true}\n"}});
  INFO(AllErrors(r));
  REQUIRE(r.snapshot);
  FakeClock clock{kNow};
  auto state = engine::NewMemoryStateStore();
  engine::Engine eng(engine::EngineOptions{&clock, state.get(), nullptr, nullptr});
  eng.Publish(r.snapshot);
  const std::string text = Harvest("tidal locking of moons");
  for (int i = 0; i < 3; ++i) CHECK(eng.Check(Chat("recorded-1", Body(text))).matches.empty());
  engine::IndicatorEvidence::Record rec;
  REQUIRE(engine::SharedIndicatorEvidence()->Get("recorded-1", &rec));
  CHECK(rec.len == 3);
  CHECK(rec.prints[0] == Print(text));
  REQUIRE(rec.shapes.size() == 1);
  CHECK(rec.shapes[0].profile == kShape);
  CHECK(rec.shapes[0].count == 3);

  const policies::LoadResult bad = policies::LoadPolicyFiles(
      {{"p.yaml", kHead + "rules:\n  - {id: r, kind: indicators, sources: [], template_distance: 40, shape_weight: 2}\n"}});
  CHECK(AllErrors(bad).find("template_distance must be from 0 to 24 bits") != std::string::npos);
  CHECK(AllErrors(bad).find("shape_weight must be from 0 to 1") != std::string::npos);
}

TEST_CASE("evidence is bounded: past max_accounts new accounts are refused, recorded ones kept") {
  engine::IndicatorEvidence ev(16);  // one a shard
  for (int i = 0; i < 200; ++i) ev.Add("a" + std::to_string(i), true, i, kShape);
  CHECK(ev.accounts() <= 16);
  CHECK(ev.refused() == 200 - ev.accounts());
  engine::IndicatorEvidence::Record rec;
  REQUIRE(ev.Get("a0", &rec));
  ev.Add("a0", true, 7, "");
  REQUIRE(ev.Get("a0", &rec));
  CHECK(rec.len == 2);
}
