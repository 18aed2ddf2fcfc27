// The admin API's side of indicator sharing: GET /v1/admin/indicators/export
// (auditor), confirmed campaigns as a STIX 2.1 bundle
// (api/admin/taxii_indicators.h). Read-only; recorded as an admin event
// because it hands out much. The TAXII 2.1 collection is not served yet.
#include "api/admin/handlers.h"
#include "api/admin/services.h"
#include "api/admin/taxii_indicators.h"
#include "storage/audit/query.h"

namespace tosgate::api::admin {
namespace {

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
  std::unique_ptr<storage::AuditReadStore> audit;
  if (s->open_audit_reader) {
    auto r = s->open_audit_reader();
    if (!r.ok()) return Problem(503, "audit-unavailable", r.status().message());
    audit = std::move(r).value();
  } else if (!s->audit_db.empty()) {
    auto r = storage::AuditQuery::Open(s->audit_db);
    if (!r.ok()) return Problem(503, "audit-unavailable", r.status().message());
    audit = std::move(r).value();
  }
  std::vector<policies::StixCampaignExport> campaigns;
  IndicatorExportSummary summary;
  if (Status st = GatherCampaigns(s->reviews, audit.get(), s->registry, o, &campaigns, &summary);
      !st.ok())
    return Problem(500, "internal-error", st.message());
  Result<std::string> bundle = policies::WriteStixBundle(campaigns, o.stix);
  if (!bundle.ok()) return Problem(400, "bad-parameter", bundle.status().message());
  AdminResponse r;
  r.content_type = "application/stix+json;version=2.1";
  r.body = std::move(bundle).value();
  // What it holds, in counts, for the admin event and the caller.
  r.headers.push_back({"X-Tos-Indicators", std::to_string(summary.campaigns) + " campaigns, " +
                                               std::to_string(summary.ranges) + " ranges, " +
                                               std::to_string(summary.payments) + " payment, " +
                                               std::to_string(summary.devices) + " device"});
  r.audit_note = "exported " + std::to_string(summary.campaigns) + " campaigns";
  r.read_only = true;
  return r;
}

}  // namespace

void AddIndicatorRoutes(Router& r, AdminServices* s) {
  Route route{"GET", "/v1/admin/indicators/export", kAuditors, "indicators.export",
              [s](AdminRequest& req) { return Export(s, req); }};
  route.record_reads = true;
  r.Add(std::move(route));
}

}  // namespace tosgate::api::admin
