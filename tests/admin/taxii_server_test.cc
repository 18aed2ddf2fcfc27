// The TAXII 2.1 server of the admin API (api/admin/taxii_server.cc) and the
// collection behind it (api/admin/taxii_collection.h): discovery, API root,
// collections, objects paged by added_after / next, the manifest, media
// types, and versions: unchanged objects keep their date_added, changed ones
// get a new version, vanished ones are revoked.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "api/admin/handlers.h"
#include "api/admin/services.h"
#include "api/admin/taxii_collection.h"
#include "api/admin/taxii_indicators.h"
#include "engine/indicators/indicator_set.h"
#include "policies/stix.h"
#include "storage/accounts/registry.h"
#include "storage/admin/review_queue.h"
#include "tests/storage/temp_dir.h"
#include "tosgate/clock.h"

using namespace tosgate;
using nlohmann::json;

namespace {

constexpr int64_t kT0 = 1'796'000'000'000;
constexpr const char* kTaxii = "application/taxii+json;version=2.1";

std::string Bundle(const std::vector<std::string>& ranges, int64_t now_ms, int confidence = 70) {
  policies::StixCampaignExport c;
  c.key = "k";
  c.name = "distillation campaign 1";
  c.confidence = confidence;
  c.address_ranges = ranges;
  policies::StixExportOptions o;
  o.producer = "Example";
  o.now_ms = now_ms;
  o.valid_for_ms = 10 * 86'400'000LL;
  return *policies::WriteStixBundle({c}, o);
}

// Confirmed accounts c1, c2 (one card) and c3 (another) in a registry and
// review queue; the admin services over them, with sharing configured.
struct Taxii {
  test::TempDir dir;
  FakeClock clock{kT0};
  std::unique_ptr<storage::AccountsRegistry> registry;
  std::unique_ptr<storage::ReviewQueue> reviews;
  api::admin::IndicatorExportOptions options;
  api::admin::AdminServices services;
  api::admin::Router table{nullptr};

  Taxii() {
    auto reg = storage::AccountsRegistry::Open({.path = dir.File("accounts.db"), .clock = &clock});
    REQUIRE(reg.ok());
    registry = std::move(reg).value();
    auto rq = storage::ReviewQueue::Open(dir.File("accounts.db"), &clock);
    REQUIRE(rq.ok());
    reviews = std::move(rq).value();
    for (auto [id, card] : {std::pair{"c1", "card-1"}, {"c2", "card-1"}, {"c3", "card-3"}}) {
      Account a;
      a.id = id;
      a.tier = "free";
      a.payment_fingerprint = card;
      REQUIRE(registry->AddAccount(a).ok());
    }
    Confirm("c1");
    Confirm("c2");
    options.key = "partners-shared-key-0123456789";
    options.stix.producer = "Example";
    options.taxii_refresh_ms = 1000;
    services.clock = &clock;
    services.reviews = reviews.get();
    services.registry = registry.get();
    services.indicators = &options;
    api::admin::AddAllRoutes(table, &services);
  }

  int64_t confirmed = 0;
  void Confirm(const char* account) {  // review ids are 1, 2, ... in order
    REQUIRE(*reviews->Enqueue(account, "distill", "risk"));
    REQUIRE(reviews->Resolve(++confirmed, "analyst", "distillation").ok());
  }

  api::admin::AdminResponse Get(const std::string& path, std::multimap<std::string, std::string> query = {},
                                std::string accept = kTaxii) {
    api::admin::AdminRequest req;
    req.method = "GET";
    req.path = path;
    req.query = std::move(query);
    if (!accept.empty()) req.headers.push_back({"accept", accept});
    const api::admin::Route* route = nullptr;
    size_t best = SIZE_MAX;  // the router's rule: the fewest {} segments
    for (const api::admin::Route& r : table.routes()) {
      std::map<std::string, std::string> params;
      if (api::admin::MatchPattern(r.pattern, path, &params) && params.size() < best) {
        best = params.size();
        route = &r;
        req.params = params;
      }
    }
    REQUIRE(route);
    CHECK(route->roles == api::admin::kAuditors);
    return route->handler(req);
  }
};

}  // namespace

TEST_CASE("TAXII 2.1: discovery, API root and the one collection, in the TAXII media type") {
  Taxii t;
  api::admin::AdminResponse r = t.Get("/taxii2/");
  REQUIRE(r.status == 200);
  CHECK(r.content_type == kTaxii);
  json j = json::parse(r.body);
  CHECK(j["api_roots"] == json::array({"/taxii2/tosgate/"}));
  r = t.Get("/taxii2/tosgate/");
  REQUIRE(r.status == 200);
  CHECK(json::parse(r.body)["versions"] == json::array({kTaxii}));
  r = t.Get("/taxii2/tosgate/collections/");
  REQUIRE(r.status == 200);
  j = json::parse(r.body);
  REQUIRE(j["collections"].size() == 1);
  const std::string id = j["collections"][0]["id"];
  CHECK(id.size() == 36);
  CHECK(j["collections"][0]["can_read"] == true);
  CHECK(j["collections"][0]["can_write"] == false);
  CHECK(j["collections"][0]["media_types"] == json::array({"application/stix+json;version=2.1"}));
  r = t.Get("/taxii2/tosgate/collections/" + id + "/");
  REQUIRE(r.status == 200);
  CHECK(json::parse(r.body)["id"] == id);
  // Errors are TAXII error messages.
  r = t.Get("/taxii2/other/collections/");
  CHECK(r.status == 404);
  CHECK(r.content_type == kTaxii);
  CHECK(json::parse(r.body)["http_status"] == "404");
  CHECK(t.Get("/taxii2/tosgate/collections/" + std::string(36, '0') + "/").status == 404);
  CHECK(t.Get("/taxii2/", {}, "application/taxii+json;version=2.0").status == 406);
  CHECK(t.Get("/taxii2/", {}, "text/html").status == 406);
  CHECK(t.Get("/taxii2/", {}, "*/*").status == 200);
  CHECK(t.Get("/taxii2/", {}, "application/taxii+json").status == 200);
  t.services.indicators = nullptr;
  CHECK(t.Get("/taxii2/").status == 503);
}

TEST_CASE("TAXII 2.1 objects: the export's objects, paged by limit and next, then by added_after") {
  Taxii t;
  const std::string id = json::parse(t.Get("/taxii2/tosgate/collections/").body)["collections"][0]["id"];
  const std::string objects = "/taxii2/tosgate/collections/" + id + "/objects/";
  api::admin::AdminResponse r = t.Get(objects);
  REQUIRE(r.status == 200);
  CHECK(r.content_type == kTaxii);
  json all = json::parse(r.body);
  CHECK(all["more"] == false);
  // marking, identity, campaign, one payment indicator (c1 and c2 share a
  // card) and its relationship.
  REQUIRE(all["objects"].size() == 5);
  std::string text = r.body;
  CHECK(text.find("card-1") == std::string::npos);
  CHECK(text.find("x-tosgate-account:payment_hmac") != std::string::npos);

  // Two at a time: three pages, the same objects in the same order.
  json paged = json::array();
  std::multimap<std::string, std::string> q = {{"limit", "2"}};
  for (int pages = 0;; ++pages) {
    REQUIRE(pages < 5);
    r = t.Get(objects, q);
    REQUIRE(r.status == 200);
    json page = json::parse(r.body);
    for (const json& o : page["objects"]) paged.push_back(o);
    CHECK(!r.headers.empty());
    if (!page["more"].get<bool>()) break;
    q = {{"limit", "2"}, {"next", page["next"].get<std::string>()}};
  }
  CHECK(paged == all["objects"]);
  const std::string last = r.headers.back().second;  // X-TAXII-Date-Added-Last
  CHECK(r.headers.back().first == "X-TAXII-Date-Added-Last");

  // Nothing new: an empty envelope, even after the export is written again.
  t.clock.advance_ms(5000);
  r = t.Get(objects, {{"added_after", last}});
  REQUIRE(r.status == 200);
  CHECK(json::parse(r.body) == json{{"more", false}});
  // c3 confirmed: its indicator and relationship, and the campaign (its
  // description counts accounts) come as new; nothing else.
  t.Confirm("c3");
  t.clock.advance_ms(5000);
  r = t.Get(objects, {{"added_after", last}});
  json fresh = json::parse(r.body);
  std::multiset<std::string> types;
  for (const json& o : fresh["objects"]) types.insert(o["type"].get<std::string>());
  CHECK(types == std::multiset<std::string>{"campaign", "indicator", "relationship"});
  r = t.Get("/taxii2/tosgate/collections/" + id + "/manifest/", {{"added_after", last}});
  json manifest = json::parse(r.body);
  REQUIRE(manifest["objects"].size() == 3);
  CHECK(manifest["objects"][0].contains("date_added"));
  CHECK(manifest["objects"][0]["media_type"] == "application/stix+json;version=2.1");
  CHECK(!manifest["objects"][0].contains("pattern"));
  // match[type] filters.
  r = t.Get(objects, {{"match[type]", "indicator"}});
  CHECK(json::parse(r.body)["objects"].size() == 2);
  CHECK(t.Get(objects, {{"added_after", "yesterday"}}).status == 400);
  CHECK(t.Get(objects, {{"limit", "0"}}).status == 400);
  CHECK(t.Get(objects, {{"color", "red"}}).status == 400);
}

TEST_CASE("TAXII collection: unchanged objects keep their version, changes and renewals get a new one, gone ones are revoked") {
  api::admin::TaxiiCollection c;
  REQUIRE(c.Merge(Bundle({"198.51.100.0/24", "192.0.2.0/24"}, kT0), kT0).ok());
  const api::admin::TaxiiPage first = c.Objects(0, 100, {});
  CHECK(first.objects.size() == 2 + 1 + 2 * 2);
  const int64_t t1 = first.objects.back().added_ms;
  // The same campaign written again an hour later: nothing new.
  REQUIRE(c.Merge(Bundle({"198.51.100.0/24", "192.0.2.0/24"}, kT0 + 3'600'000), kT0 + 3'600'000).ok());
  CHECK(c.Objects(t1, 100, {}).objects.empty());
  // One range gone: its indicator and relationship are revoked, once.
  const int64_t t2 = kT0 + 7'200'000;
  REQUIRE(c.Merge(Bundle({"198.51.100.0/24"}, t2), t2).ok());
  api::admin::TaxiiPage p = c.Objects(t1, 100, {});
  REQUIRE(p.objects.size() == 2);
  for (const auto& o : p.objects) {
    CHECK(o.object["revoked"] == true);
    CHECK(o.object["created"] == policies::StixTimestamp(kT0));
    CHECK(o.object["modified"] == policies::StixTimestamp(t2));
  }
  // A partner importing the revoked versions ignores them.
  engine::IndicatorSet set;
  policies::StixImportReport report;
  json revoked_bundle = {{"type", "bundle"}, {"id", "bundle--1"}, {"objects", json::array()}};
  for (const auto& o : p.objects) revoked_bundle["objects"].push_back(json::parse(o.object.dump()));
  REQUIRE(policies::ImportStixBundle(revoked_bundle.dump(), "a", 1, t2, {}, &set, &report).ok());
  CHECK(set.size() == 0);
  CHECK(report.messages.at(0).find("revoked") != std::string::npos);
  const int64_t t3 = p.objects.back().added_ms;
  REQUIRE(c.Merge(Bundle({"198.51.100.0/24"}, t2 + 1000), t2 + 1000).ok());
  CHECK(c.Objects(t3, 100, {}).objects.empty());
  // A changed confidence: a new version; valid_until kept.
  const int64_t t4 = kT0 + 86'400'000;
  REQUIRE(c.Merge(Bundle({"198.51.100.0/24"}, t4, 90), t4).ok());
  p = c.Objects(t3, 100, {"indicator"});
  REQUIRE(p.objects.size() == 1);
  CHECK(p.objects[0].object["confidence"] == 90);
  CHECK(p.objects[0].object["valid_until"] == policies::StixTimestamp(kT0 + 10 * 86'400'000LL));
  CHECK(p.objects[0].version == policies::StixTimestamp(t4));
  // Six days in (under half the validity left): renewed to ten days from now.
  const int64_t t5 = kT0 + 6 * 86'400'000LL;
  const int64_t t6 = p.objects[0].added_ms;
  REQUIRE(c.Merge(Bundle({"198.51.100.0/24"}, t5, 90), t5).ok());
  p = c.Objects(t6, 100, {"indicator"});
  REQUIRE(p.objects.size() == 1);
  CHECK(p.objects[0].object["valid_until"] == policies::StixTimestamp(t5 + 10 * 86'400'000LL));
  CHECK(!c.Merge("[]", t5).ok());
}
