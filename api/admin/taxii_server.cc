// The admin API's side of indicator sharing: GET /v1/admin/indicators/export
// (auditor), confirmed campaigns as a STIX 2.1 bundle
// (api/admin/taxii_indicators.h), and the same objects as a read-only
// TAXII 2.1 server (OASIS TAXII 2.1, sections 4 and 5):
//
//   /taxii2/                                         discovery
//   /taxii2/tosgate/                                 the API root
//   /taxii2/tosgate/collections/                     one collection
//   /taxii2/tosgate/collections/{id}/                 (its id: a UUID named
//   /taxii2/tosgate/collections/{id}/objects/          after the producer)
//   /taxii2/tosgate/collections/{id}/manifest/
//
// objects/ and manifest/ page by date_added: `added_after`, `limit`, and the
// envelope's `more` / `next`. Every route needs an auditor (or admin) token,
// like the export. Answers are application/taxii+json;version=2.1; errors
// the handlers raise are TAXII error messages (the router's 401/403/429 stay
// problem+json, as on every admin route).
#include <memory>

#include <nlohmann/json.hpp>

#include "api/admin/handlers.h"
#include "api/admin/services.h"
#include "api/admin/taxii_collection.h"
#include "api/admin/taxii_indicators.h"
#include "engine/indicators/evidence.h"
#include "storage/audit/query.h"

namespace tosgate::api::admin {
namespace {

constexpr const char* kTaxii = "application/taxii+json;version=2.1";
constexpr const char* kStix = "application/stix+json;version=2.1";
constexpr const char* kRoot = "tosgate";
constexpr size_t kDefaultLimit = 1000, kMaxLimit = 10'000;

// The bundle of confirmed campaigns under options `o`, or an error response.
bool WriteExport(AdminServices* s, const IndicatorExportOptions& o, std::string* bundle,
                 IndicatorExportSummary* summary, AdminResponse* error) {
  std::unique_ptr<storage::AuditReadStore> audit;
  if (s->open_audit_reader) {
    auto r = s->open_audit_reader();
    if (!r.ok()) return *error = Problem(503, "audit-unavailable", r.status().message()), false;
    audit = std::move(r).value();
  } else if (!s->audit_db.empty()) {
    auto r = storage::AuditQuery::Open(s->audit_db);
    if (!r.ok()) return *error = Problem(503, "audit-unavailable", r.status().message()), false;
    audit = std::move(r).value();
  }
  std::vector<policies::StixCampaignExport> campaigns;
  // Harvest templates and request shapes from what `record: true`
  // indicators rules of this process kept (engine/indicators/evidence.h).
  const std::shared_ptr<engine::IndicatorEvidence> evidence = engine::SharedIndicatorEvidence();
  IndicatorExportOptions with = o;
  if (!with.evidence) with.evidence = evidence.get();
  if (Status st = GatherCampaigns(s->reviews, audit.get(), s->registry, with, &campaigns, summary);
      !st.ok())
    return *error = Problem(500, "internal-error", st.message()), false;
  Result<std::string> written = policies::WriteStixBundle(campaigns, o.stix);
  if (!written.ok()) return *error = Problem(400, "bad-parameter", written.status().message()), false;
  *bundle = std::move(written).value();
  return true;
}

AdminResponse Export(AdminServices* s, AdminRequest& req) {
  if (!s->indicators) return NotConfigured("indicator sharing (indicators.key_file)");
  AdminResponse error;
  if (!CheckQuery(req, {"rule", "min_risk", "tlp"}, &error)) return error;
  IndicatorExportOptions o = *s->indicators;
  if (req.HasQuery("rule")) o.rule = req.Query("rule");
  if (req.HasQuery("tlp")) o.stix.tlp = req.Query("tlp");
  if (req.HasQuery("min_risk")) {
    const std::string v = req.Query("min_risk");
    char* end = nullptr;
    o.min_risk = std::strtod(v.c_str(), &end);
    if (v.empty() || *end || o.min_risk < 0 || o.min_risk > 1)
      return Problem(400, "bad-parameter", "min_risk must be a number from 0 to 1");
  }
  o.stix.now_ms = s->clock->wall_ms();
  std::string bundle;
  IndicatorExportSummary summary;
  if (!WriteExport(s, o, &bundle, &summary, &error)) return error;
  AdminResponse r;
  r.content_type = kStix;
  r.body = std::move(bundle);
  // What it holds, in counts, for the admin event and the caller.
  r.headers.push_back({"X-Tos-Indicators", std::to_string(summary.campaigns) + " campaigns, " +
                                               std::to_string(summary.ranges) + " ranges, " +
                                               std::to_string(summary.payments) + " payment, " +
                                               std::to_string(summary.devices) + " device"});
  r.audit_note = "exported " + std::to_string(summary.campaigns) + " campaigns";
  r.read_only = true;
  return r;
}

// ---- TAXII 2.1 ----

AdminResponse TaxiiError(int status, const std::string& title, const std::string& description) {
  AdminResponse r;
  r.status = status;
  r.content_type = kTaxii;
  r.body = nlohmann::json{{"title", title}, {"description", description}, {"http_status", std::to_string(status)}}
               .dump();
  return r;
}

AdminResponse TaxiiJson(const nlohmann::ordered_json& j) {
  AdminResponse r;
  r.content_type = kTaxii;
  r.body = j.dump();
  return r;
}

std::string CollectionId(const AdminServices* s) {
  const std::string id = policies::StixId("x-taxii-collection", s->indicators->stix.producer);
  return id.substr(id.find("--") + 2);
}

struct Taxii {
  AdminServices* s;
  TaxiiCollection collection;

  // 406 unless the client accepts TAXII 2.1 (or anything); 503 before
  // sharing is configured; 404 for another API root or collection.
  bool Check(const AdminRequest& req, bool collection_route, AdminResponse* error) const {
    if (const std::string* accept = req.header("accept"); accept && !accept->empty()) {
      const std::string& a = *accept;
      const bool any = a.find("*/*") != std::string::npos || a.find("application/*") != std::string::npos;
      const size_t at = a.find("application/taxii+json");
      const bool taxii = at != std::string::npos &&
                         (a.find("version=", at) == std::string::npos || a.find("version=2.1", at) != std::string::npos);
      if (!any && !taxii)
        return *error = TaxiiError(406, "Not Acceptable", std::string("this server answers ") + kTaxii), false;
    }
    if (!s->indicators)
      return *error = TaxiiError(503, "Not configured", "indicator sharing is not configured (indicators.export)"), false;
    if (req.params.count("root") && req.Param("root") != kRoot)
      return *error = TaxiiError(404, "Not found", "no such API root (this server has /taxii2/" + std::string(kRoot) + "/)"), false;
    if (collection_route && req.Param("id") != CollectionId(s))
      return *error = TaxiiError(404, "Not found", "no such collection"), false;
    return true;
  }

  nlohmann::ordered_json CollectionInfo() const {
    return {{"id", CollectionId(s)},
            {"title", "Confirmed distillation campaigns of " + s->indicators->stix.producer},
            {"description", "Campaign indicators (STIX 2.1) exported by tosgate (docs/indicators.md)"},
            {"can_read", true},
            {"can_write", false},
            {"media_types", {kStix}}};
  }

  // Writes the export again when it is older than taxii_refresh_ms.
  bool Refresh(AdminResponse* error) {
    const int64_t now = s->clock->wall_ms();
    const int64_t last = collection.merged_ms();
    if (last >= 0 && now - last < s->indicators->taxii_refresh_ms) return true;
    IndicatorExportOptions o = *s->indicators;
    o.stix.now_ms = now;
    std::string bundle;
    IndicatorExportSummary summary;
    if (!WriteExport(s, o, &bundle, &summary, error)) return false;
    if (Status st = collection.Merge(bundle, now); !st.ok())
      return *error = TaxiiError(500, "Internal error", st.message()), false;
    return true;
  }

  // added_after, next, limit and match[type] of objects/ and manifest/.
  bool Page(const AdminRequest& req, TaxiiPage* page, AdminResponse* error) {
    if (!CheckQuery(req, {"added_after", "limit", "next", "match[type]", "match[version]", "match[spec_version]"},
                    error))
      return false;
    int64_t after = 0;
    if (req.HasQuery("added_after") && !policies::ParseStixTimestamp(req.Query("added_after"), &after))
      return *error = TaxiiError(400, "Bad request", "added_after must be a timestamp, e.g. 2026-12-01T00:00:00.000Z"), false;
    if (req.HasQuery("next")) {
      int64_t n = 0;
      if (!ParseId(req.Query("next"), &n))
        return *error = TaxiiError(400, "Bad request", "next is the value of an earlier page's next"), false;
      after = std::max(after, n);
    }
    size_t limit = kDefaultLimit;
    if (req.HasQuery("limit")) {
      int64_t n = 0;
      if (!ParseId(req.Query("limit"), &n))
        return *error = TaxiiError(400, "Bad request", "limit must be a positive integer"), false;
      limit = std::min<size_t>(static_cast<size_t>(n), kMaxLimit);
    }
    std::vector<std::string> types;
    if (req.HasQuery("match[type]")) {
      const std::string t = req.Query("match[type]");
      for (size_t at = 0; at <= t.size();) {
        const size_t comma = std::min(t.find(',', at), t.size());
        types.push_back(t.substr(at, comma - at));
        at = comma + 1;
      }
    }
    if (!Refresh(error)) return false;
    *page = collection.Objects(after, limit, types);
    return true;
  }

  AdminResponse Envelope(const TaxiiPage& page, bool manifest) const {
    nlohmann::ordered_json j = {{"more", page.more}};
    if (page.more) j["next"] = page.next;
    if (!page.objects.empty()) {
      j["objects"] = nlohmann::ordered_json::array();
      for (const TaxiiObject& o : page.objects)
        j["objects"].push_back(manifest ? nlohmann::ordered_json{{"id", o.id},
                                                                 {"date_added", policies::StixTimestamp(o.added_ms)},
                                                                 {"version", o.version},
                                                                 {"media_type", kStix}}
                                        : o.object);
    }
    AdminResponse r = TaxiiJson(j);
    if (!page.objects.empty()) {
      r.headers.push_back({"X-TAXII-Date-Added-First", policies::StixTimestamp(page.objects.front().added_ms)});
      r.headers.push_back({"X-TAXII-Date-Added-Last", policies::StixTimestamp(page.objects.back().added_ms)});
    }
    return r;
  }
};

void AddTaxiiRoutes(Router& r, AdminServices* s) {
  auto t = std::make_shared<Taxii>();
  t->s = s;
  auto add = [&](const std::string& pattern, const char* action, bool record,
                 std::function<AdminResponse(Taxii&, AdminRequest&)> f) {
    Route route{"GET", pattern, kAuditors, action, [t, f](AdminRequest& req) { return f(*t, req); }};
    route.record_reads = record;
    r.Add(std::move(route));
  };
  add("/taxii2/", "taxii.discovery", false, [](Taxii& t, AdminRequest& req) {
    AdminResponse e;
    if (!t.Check(req, false, &e)) return e;
    const std::string root = std::string("/taxii2/") + kRoot + "/";
    return TaxiiJson({{"title", "tosgate TAXII 2.1 server"},
                      {"description", "Campaign indicators shared by " + t.s->indicators->stix.producer},
                      {"default", root},
                      {"api_roots", {root}}});
  });
  add("/taxii2/{root}/", "taxii.api_root", false, [](Taxii& t, AdminRequest& req) {
    AdminResponse e;
    if (!t.Check(req, false, &e)) return e;
    return TaxiiJson({{"title", "tosgate indicators"},
                      {"versions", {kTaxii}},
                      {"max_content_length", 16 << 20}});
  });
  add("/taxii2/{root}/collections/", "taxii.collections", false, [](Taxii& t, AdminRequest& req) {
    AdminResponse e;
    if (!t.Check(req, false, &e)) return e;
    return TaxiiJson({{"collections", {t.CollectionInfo()}}});
  });
  add("/taxii2/{root}/collections/{id}/", "taxii.collection", false, [](Taxii& t, AdminRequest& req) {
    AdminResponse e;
    if (!t.Check(req, true, &e)) return e;
    return TaxiiJson(t.CollectionInfo());
  });
  // Objects hand out the indicators: recorded as admin events, like the export.
  add("/taxii2/{root}/collections/{id}/objects/", "taxii.objects", true, [](Taxii& t, AdminRequest& req) {
    AdminResponse e;
    TaxiiPage page;
    if (!t.Check(req, true, &e) || !t.Page(req, &page, &e)) return e;
    AdminResponse r = t.Envelope(page, false);
    r.audit_note = "sent " + std::to_string(page.objects.size()) + " objects";
    return r;
  });
  add("/taxii2/{root}/collections/{id}/manifest/", "taxii.manifest", false, [](Taxii& t, AdminRequest& req) {
    AdminResponse e;
    TaxiiPage page;
    if (!t.Check(req, true, &e) || !t.Page(req, &page, &e)) return e;
    return t.Envelope(page, true);
  });
}

}  // namespace

void AddIndicatorRoutes(Router& r, AdminServices* s) {
  Route route{"GET", "/v1/admin/indicators/export", kAuditors, "indicators.export",
              [s](AdminRequest& req) { return Export(s, req); }};
  route.record_reads = true;
  r.Add(std::move(route));
  AddTaxiiRoutes(r, s);
}

}  // namespace tosgate::api::admin
