// Confirmed campaigns out of tosgate's stores and into a STIX 2.1 bundle
// (api/admin/taxii_indicators.h), and `tosgate indicators export|import`
// run as a program on those stores.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/wait.h>

#include "api/admin/handlers.h"
#include "api/admin/services.h"
#include "api/admin/taxii_indicators.h"
#include "engine/distill/text_features.h"
#include "engine/indicators/evidence.h"
#include "engine/indicators/keyed_hash.h"
#include "engine/indicators/request_print.h"
#include "storage/accounts/registry.h"
#include "storage/admin/review_queue.h"
#include "storage/audit/query.h"
#include "storage/audit/sqlite/sink.h"
#include "tests/storage/temp_dir.h"
#include "tosgate/clock.h"

using namespace tosgate;

namespace {

constexpr int64_t kT0 = 1'796'000'000'000;
const std::string kKey = "partners-shared-key-0123456789";

// Accounts c1..c4 harvest from 198.51.100.0/24; c1 and c2 share a card, c3
// has its own card and device; c5 from 192.0.2.0/24 is above the risk but
// never reviewed; u1 and u2 are ordinary users in 203.0.113.0/24. Review:
// c1-c3 resolved as distillation, c4 as a false positive.
struct Stores {
  test::TempDir dir;
  FakeClock clock{kT0};
  std::string audit_path = dir.File("audit.db"), accounts_path = dir.File("accounts.db");
  std::unique_ptr<storage::AccountsRegistry> registry;
  std::unique_ptr<storage::ReviewQueue> reviews;
  std::unique_ptr<storage::AuditQuery> audit;

  Stores() {
    auto sink = storage::SqliteAuditSink::Open({.path = audit_path});
    REQUIRE(sink.ok());
    const char* who[][2] = {{"c1", "198.51.100.7"}, {"c2", "198.51.100.8"}, {"c3", "198.51.100.9"},
                            {"c4", "198.51.100.10"}, {"c5", "192.0.2.1"},   {"u1", "203.0.113.1"},
                            {"u2", "203.0.113.2"}};
    for (int i = 0; i < 7 * 3; ++i) {
      engine::AuditRecord r;
      r.id = "d" + std::to_string(i);
      r.account = who[i % 7][0];
      r.client_ip = who[i % 7][1];
      r.time_ms = kT0 + i * 1000;
      r.effect = Effect::kAllow;
      r.status = 200;
      const bool risky = r.account[0] == 'c';
      if (risky)
        r.matches.push_back({"distill", Action::kFlag, false,
                             r.account == "c5" ? "risk 0.91 >= throttle 0.80: ..." : "risk 0.55 >= flag 0.50: ..."});
      REQUIRE((*sink)->Submit(r).ok());
    }
    REQUIRE((*sink)->Close().ok());
    auto q = storage::AuditQuery::Open(audit_path);
    REQUIRE(q.ok());
    audit = std::move(q).value();
    auto reg = storage::AccountsRegistry::Open({.path = accounts_path, .clock = &clock});
    REQUIRE(reg.ok());
    registry = std::move(reg).value();
    auto add = [&](const char* id, const char* card, const char* device) {
      Account a;
      a.id = id;
      a.tier = "free";
      a.payment_fingerprint = card;
      a.device_fingerprint = device;
      REQUIRE(registry->AddAccount(a).ok());
    };
    add("c1", "card-1", "");
    add("c2", "card-1", "");
    add("c3", "card-2", "dev-3");
    add("c4", "card-4", "");
    add("u1", "card-u1", "");
    auto rq = storage::ReviewQueue::Open(accounts_path, &clock);
    REQUIRE(rq.ok());
    reviews = std::move(rq).value();
    for (const char* a : {"c1", "c2", "c3", "c4"}) REQUIRE(*reviews->Enqueue(a, "distill", "risk"));
    REQUIRE(*reviews->Enqueue("u1", "distill", "risk"));  // still open: not confirmed
    REQUIRE(reviews->Resolve(1, "analyst", "Distillation: one template, shared cards").ok());
    REQUIRE(reviews->Resolve(2, "analyst", "distillation").ok());
    REQUIRE(reviews->Resolve(3, "analyst", "distillation, same device farm").ok());
    REQUIRE(reviews->Resolve(4, "analyst", "false positive: a tutoring service").ok());
  }
};

std::string Run(const std::string& args) {
  const std::string cmd = std::string(TOSGATE_BINARY) + " " + args + " </dev/null 2>&1";
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  return "rc=" + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + "\n" + out;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("review-queue confirmations become one campaign of shared ranges and keyed fingerprints") {
  Stores s;
  api::admin::IndicatorExportOptions o;
  o.rule = "distill";
  o.key = kKey;
  std::vector<policies::StixCampaignExport> campaigns;
  api::admin::IndicatorExportSummary summary;
  REQUIRE(api::admin::GatherCampaigns(s.reviews.get(), s.audit.get(), s.registry.get(), o,
                                      &campaigns, &summary)
              .ok());
  CHECK(summary.accounts == 3);  // c1-c3; c4 was a false positive, u1 is still open
  REQUIRE(campaigns.size() == 1);
  const policies::StixCampaignExport& c = campaigns[0];
  CHECK(c.address_ranges == std::vector<std::string>{"198.51.100.0/24"});
  using engine::KeyedFingerprint, engine::KeyedKind;
  std::vector<std::string> cards = {KeyedFingerprint(kKey, KeyedKind::kPayment, "card-1"),
                                    KeyedFingerprint(kKey, KeyedKind::kPayment, "card-2")};
  std::sort(cards.begin(), cards.end());
  CHECK(c.payment_hmacs == cards);
  // The registry keeps no device fingerprints (only accounts files carry
  // them), so none leave from it.
  CHECK(c.device_hmacs.empty());
  CHECK(c.description.find("3 accounts confirmed") == 0);
  CHECK(c.first_seen_ms == kT0);

  // With a risk floor, c5 (0.91) joins as its own campaign; its range is one
  // account's, below min_range_accounts, so only a range shared by two would leave.
  o.min_risk = 0.9;
  campaigns.clear();
  REQUIRE(api::admin::GatherCampaigns(s.reviews.get(), s.audit.get(), s.registry.get(), o,
                                      &campaigns, &summary)
              .ok());
  CHECK(summary.accounts == 4);
  CHECK(campaigns.size() == 1);  // c5 has no shared range and no registry entry
  o.min_range_accounts = 1;
  campaigns.clear();
  REQUIRE(api::admin::GatherCampaigns(s.reviews.get(), s.audit.get(), s.registry.get(), o,
                                      &campaigns, &summary)
              .ok());
  CHECK(campaigns.size() == 2);
}

TEST_CASE("recorded evidence: templates shared by confirmed accounts leave keyed, shapes as profiles") {
  Stores s;
  engine::IndicatorEvidence ev;
  auto body = [](const std::string& text) {
    RequestBody b;
    b.present = true;
    b.model = "gpt-4o";
    b.user_text = text;
    b.max_tokens = 16000;
    b.reasoning_effort = "high";
    return b;
  };
  auto record = [&](const char* account, const std::string& text) {
    uint64_t print = 0;
    RequestBody b = body(text);
    REQUIRE(engine::RequestSimHash(b, &print));
    ev.Add(account, true, print, engine::ShapeProfile(b));
    return print;
  };
  const std::string harvest = "You are a meticulous domain expert. Explain your full chain of reasoning step by step, "
                              "list every assumption you make, then give a detailed final answer with examples. Topic: ";
  const uint64_t p1 = record("c1", harvest + "photosynthesis in desert plants");
  record("c2", harvest + "the causes of the French revolution");
  // c3's own prompt is one account's: it stays here. u1 (not confirmed)
  // shares the template: it counts for nothing.
  const uint64_t own = record("c3", "Write me a limerick about a lighthouse keeper who collects teapots from passing ships.");
  record("u1", harvest + "volcanoes");
  api::admin::IndicatorExportOptions o;
  o.rule = "distill";
  o.key = kKey;
  o.evidence = &ev;
  std::vector<policies::StixCampaignExport> campaigns;
  api::admin::IndicatorExportSummary summary;
  REQUIRE(api::admin::GatherCampaigns(s.reviews.get(), s.audit.get(), s.registry.get(), o,
                                      &campaigns, &summary)
              .ok());
  REQUIRE(campaigns.size() == 1);
  const policies::StixCampaignExport& c = campaigns[0];
  REQUIRE(c.template_prints.size() == 1);  // c1's and c2's fills are one template
  const engine::TemplateKey key(kKey);
  uint64_t exported = 0;
  REQUIRE(engine::ParseTemplateHex(c.template_prints[0], &exported));
  CHECK(engine::HammingDistance(exported, key.Apply(p1)) <= 12);
  CHECK(engine::HammingDistance(exported, key.Apply(own)) > 12);
  CHECK(c.template_prints[0] != engine::TemplateHex(p1));  // never the raw SimHash
  CHECK(c.shape_profiles ==
        std::vector<std::string>{"family=gpt;effort=high;n=1;temperature=default;max_tokens=8k-32k;logprobs=no"});
  CHECK(summary.templates == 1);
  CHECK(summary.shapes == 1);
  CHECK(summary.Describe().find("1 keyed harvest-template fingerprints, 1 request-shape profiles") != std::string::npos);
  CHECK(c.description.find("1 harvest templates (keyed), 1 request shapes") != std::string::npos);
  // Without a key nothing keyed leaves: no templates.
  o.key.clear();
  campaigns.clear();
  REQUIRE(api::admin::GatherCampaigns(s.reviews.get(), s.audit.get(), s.registry.get(), o,
                                      &campaigns, &summary)
              .ok());
  REQUIRE(campaigns.size() == 1);
  CHECK(campaigns[0].template_prints.empty());
}

TEST_CASE("tosgate indicators export lists what leaves, writes a valid bundle, and import loads it") {
  Stores s;
  const std::string key = s.dir.Write("partners.key", kKey + "\n");
  const std::string out = s.dir.File("bundle.json");
  const std::string base = "indicators export --db " + s.audit_path + " --accounts-db " +
                           s.accounts_path + " --rule distill --key-file " + key +
                           " --producer Example --tlp green";
  std::string r = Run(base + " --dry-run --out " + out);
  CHECK(r.find("rc=0\n") == 0);
  CHECK(r.find("campaigns: 1 (from 3 confirmed accounts)") != std::string::npos);
  CHECK(r.find("indicators: 1 address ranges, 2 keyed payment fingerprints, 0 keyed device") !=
        std::string::npos);
  CHECK(r.find("--dry-run: nothing written") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(out));

  r = Run(base + " --out " + out);
  REQUIRE(r.find("rc=0\n") == 0);
  const std::string bundle = Slurp(out);
  CHECK(bundle.find("TLP:GREEN") != std::string::npos);
  CHECK(bundle.find("198.51.100.0/24") != std::string::npos);
  for (const char* secret : {"\"c1\"", "card-1", "dev-3", "198.51.100.7", "203.0.113", "u1"})
    CHECK_MESSAGE(bundle.find(secret) == std::string::npos, secret);

  // The real export against the OASIS schemas, when they and the validator are here.
  const std::string schemas = TOSGATE_SOURCE_DIR "/../shared/reference/stix2-json-schemas/schemas";
  if (std::filesystem::exists(schemas + "/common/bundle.json")) {
    const int rc = std::system(("python3 " TOSGATE_SOURCE_DIR "/tests/stix/validate_stix.py " +
                                schemas + " " + out + " >/dev/null")
                                   .c_str());
    const int code = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    if (code != 77) CHECK(code == 0);
  }

  const std::string into = s.dir.File("intel");
  r = Run("indicators import " + out + " --source partner-a --trust 0.7 --into " + into);
  CHECK(r.find("rc=0\n") == 0);
  CHECK(r.find("3 indicators of 1 campaigns loaded from partner-a (trust 0.7); 0 objects ignored") !=
        std::string::npos);
  CHECK(Slurp(into + "/partner-a.json") == bundle);

  r = Run("indicators import " + out + " --source partner-a --max-bytes 100");
  CHECK(r.find("rc=1\n") == 0);
  CHECK(r.find("bytes, over the limit of 100") != std::string::npos);
  r = Run("indicators import " + s.dir.Write("bad.json", "{\"type\": \"bundle\", \"objects\": [{\"type\": "
                                              "\"indicator\", \"id\": \"indicator--x\"}]}") +
          " --source p");
  CHECK(r.find("rc=1\n") == 0);
  CHECK(r.find("ignored indicator--x: spec_version is not \"2.1\"") != std::string::npos);
  CHECK(r.find("nothing to load") != std::string::npos);
  r = Run("indicators import " + out + " --source '../x'");
  CHECK(r.find("rc=2\n") == 0);
}

TEST_CASE("GET /v1/admin/indicators/export: the bundle for auditors, 503 until a key is configured") {
  Stores s;
  api::admin::AdminServices services;
  services.clock = &s.clock;
  services.reviews = s.reviews.get();
  services.registry = s.registry.get();
  services.audit_db = s.audit_path;
  api::admin::Router table(nullptr);
  api::admin::AddAllRoutes(table, &services);
  const api::admin::Route* route = nullptr;
  for (const api::admin::Route& r : table.routes())
    if (r.pattern == "/v1/admin/indicators/export") route = &r;
  REQUIRE(route);
  CHECK(route->roles == api::admin::kAuditors);
  CHECK(route->record_reads);
  api::admin::AdminRequest req;
  req.method = "GET";
  req.path = route->pattern;
  CHECK(route->handler(req).status == 503);

  api::admin::IndicatorExportOptions o;
  o.key = kKey;
  o.stix.producer = "Example";
  services.indicators = &o;
  req.query = {{"rule", "distill"}, {"tlp", "red"}};
  api::admin::AdminResponse r = route->handler(req);
  REQUIRE(r.status == 200);
  CHECK(r.content_type == "application/stix+json;version=2.1");
  CHECK(r.body.find("TLP:RED") != std::string::npos);
  CHECK(r.body.find("198.51.100.0/24") != std::string::npos);
  CHECK(r.body.find("card-1") == std::string::npos);
  REQUIRE(r.headers.size() == 1);
  CHECK(r.headers[0].second == "1 campaigns, 1 ranges, 2 payment, 0 device");
  req.query = {{"min_risk", "2"}};
  CHECK(route->handler(req).status == 400);
  req.query = {{"tlp", "purple"}};
  CHECK(route->handler(req).status == 400);
}
