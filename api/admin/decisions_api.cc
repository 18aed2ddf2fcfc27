// Decisions: query with filters and pages, one by id with its explanation,
// export, and a tamper check of the audit store. Reuses storage/audit/query
// and storage/audit/verify (the code behind `tosgate audit`); every filter
// value is bound as an SQL parameter there.
#include <nlohmann/json.hpp>

#include "api/admin/handlers.h"
#include "storage/audit/sqlite/lookup.h"
#include "storage/audit/query.h"
#include "storage/audit/verify.h"

namespace tosgate::api::admin {
namespace {

constexpr size_t kMaxExportRows = 100'000;

nlohmann::json DecisionJson(const storage::StoredDecision& d) {
  nlohmann::json j = nlohmann::json::parse(storage::JsonLine(d), nullptr, false);
  if (j.is_discarded()) j = {{"id", d.record.id}};
  return j;
}

// What a person reads: the effect, then every matched rule and what it saw.
std::string Explain(const storage::AuditRow& r) {
  std::string out = r.effect + " (status " + std::to_string(r.status) + ")";
  if (!r.reason.empty()) out += ", reason " + r.reason;
  out += ", policy revision " + r.policy_revision + "\n";
  nlohmann::json matches = nlohmann::json::parse(r.matches, nullptr, false);
  if (!matches.is_array() || matches.empty()) return out + "no rule matched\n";
  for (const auto& m : matches) {
    if (!m.is_object()) continue;
    out += "  " + m.value("rule", "?") + ": " + m.value("action", "?") +
           (m.value("shadow", false) ? " (shadow)" : "") + " — " + m.value("detail", "") + "\n";
  }
  return out;
}

bool ReadFilter(const AdminRequest& req, storage::AuditFilter* f, AdminResponse* err) {
  f->account = req.Query("account");
  f->org = req.Query("org");
  f->effect = req.Query("effect");
  f->rule = req.Query("rule");
  f->reason = req.Query("reason");
  f->instance = req.Query("instance");  // a fleet (PostgreSQL) store only
  for (auto [name, out] : {std::pair{"since", &f->since_ms}, std::pair{"until", &f->until_ms}}) {
    if (!req.HasQuery(name)) continue;
    auto t = storage::ParseAuditTime(req.Query(name));
    if (!t.ok()) {
      *err = Problem(400, "bad-parameter", std::string(name) + ": " + t.status().message());
      return false;
    }
    *out = *t;
  }
  return true;
}

class DecisionsApi {
 public:
  explicit DecisionsApi(AdminServices* s) : s_(s) {}

  AdminResponse Query(AdminRequest& req) {
    // Bad input is a 400 whatever the configuration.
    AdminResponse err;
    if (!CheckQuery(req, {"account", "org", "effect", "rule", "reason", "since", "until", "instance", "limit",
                          "cursor"}, &err))
      return err;
    if (!readable()) return NotConfigured("the audit store");
    storage::AuditFilter f;
    if (!ReadFilter(req, &f, &err)) return err;
    int64_t limit = 100;
    if (req.HasQuery("limit") && (!ParseId(req.Query("limit"), &limit) || limit > 1000))
      return Problem(400, "bad-parameter", "limit must be 1 to 1000");
    std::optional<storage::AuditCursor> after;
    if (req.HasQuery("cursor")) {
      auto c = storage::DecodeCursor(req.Query("cursor"));
      if (!c.ok()) return Problem(400, "bad-parameter", "cursor: " + c.status().message());
      after = *c;
    }
    auto q = OpenReader();
    if (!q.ok()) return StatusProblem(q.status());
    auto page = (*q)->Page(f, static_cast<size_t>(limit), after);
    if (!page.ok()) return StatusProblem(page.status());
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& d : page->rows) rows.push_back(DecisionJson(d));
    nlohmann::json j = {{"decisions", rows}};
    if (page->next) j["next_cursor"] = storage::EncodeCursor(*page->next);
    return Json(200, j);
  }

  AdminResponse Get(AdminRequest& req) {
    if (s_->audit_db.empty()) return NotConfigured("the audit store");
    auto d = storage::FindDecision(s_->audit_db, req.Param("id"));
    if (!d.ok()) return StatusProblem(d.status());
    nlohmann::json j = DecisionJson(*d);
    j["explanation"] = Explain(d->record);
    return Json(200, j);
  }

  AdminResponse Export(AdminRequest& req) {
    // Bad input is a 400 whatever the configuration.
    AdminResponse err;
    if (!CheckQuery(req, {"account", "org", "effect", "rule", "reason", "since", "until", "instance", "format"},
                    &err))
      return err;
    if (!readable()) return NotConfigured("the audit store");
    storage::AuditFilter f;
    if (!ReadFilter(req, &f, &err)) return err;
    const std::string format = req.Query("format", "jsonl");
    if (format != "jsonl" && format != "csv") return Problem(400, "bad-parameter", "format must be jsonl or csv");
    auto q = OpenReader();
    if (!q.ok()) return StatusProblem(q.status());
    const bool fleet = (*q)->fleet();
    AdminResponse res;
    res.content_type = format == "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson";
    if (format == "csv") res.body = storage::CsvHeader(fleet);
    size_t rows = 0;
    bool truncated = false;
    Status s = (*q)->ForEach(f, [&](const storage::StoredDecision& d) {
      if (rows == kMaxExportRows) {
        truncated = true;
        return false;
      }
      ++rows;
      res.body += format == "csv" ? storage::CsvRow(d, fleet) : storage::JsonLine(d);
      return true;
    });
    if (!s.ok()) return StatusProblem(s);
    // More than one answer holds: narrow the filter (since/until) or use
    // `tosgate audit export` on the host.
    if (truncated) res.headers.emplace_back("X-Tos-Truncated", std::to_string(kMaxExportRows));
    res.headers.emplace_back("X-Tos-Rows", std::to_string(rows));
    res.audit_note = "exported " + std::to_string(rows) + " decisions";
    return res;
  }

  AdminResponse Verify(AdminRequest& req) {
    if (s_->audit_db.empty()) return NotConfigured("the audit store");
    nlohmann::json body;
    AdminResponse err;
    if (!ParseJsonBody(req, {}, &body, &err, /*empty_ok=*/true)) return err;
    auto v = storage::VerifyAuditStore(s_->audit_db);
    if (!v.ok()) return StatusProblem(v.status());
    nlohmann::json j = {{"ok", v->ok},           {"records", v->records},
                        {"start_seq", v->start_seq}, {"last_seq", v->last_seq},
                        {"checkpoints", v->checkpoints}, {"signatures", v->signatures},
                        {"notes", v->notes}};
    if (!v->ok) {
      j["bad_seq"] = v->bad_seq;
      j["bad_id"] = v->bad_id;
      j["problem"] = v->problem;
    }
    AdminResponse res = Json(200, j);
    res.audit_note = v->ok ? "verified " + std::to_string(v->records) + " records" : "verify failed: " + v->problem;
    return res;
  }

 private:
  bool readable() const { return !s_->audit_db.empty() || s_->open_audit_reader; }

  Result<std::unique_ptr<storage::AuditReadStore>> OpenReader() const {
    if (s_->open_audit_reader) return s_->open_audit_reader();
    auto q = storage::AuditQuery::Open(s_->audit_db);
    if (!q.ok()) return q.status();
    return std::unique_ptr<storage::AuditReadStore>(std::move(*q));
  }

  AdminServices* s_;
};

}  // namespace

void AddDecisionRoutes(Router& r, AdminServices* s) {
  auto api = std::make_shared<DecisionsApi>(s);
  auto bind = [api](AdminResponse (DecisionsApi::*m)(AdminRequest&)) {
    return [api, m](AdminRequest& req) { return ((*api).*m)(req); };
  };
  r.Add({"GET", "/v1/admin/decisions", kAuditors, "decisions.query", bind(&DecisionsApi::Query)});
  r.Add({"GET", "/v1/admin/decisions/export", kAuditors, "decisions.export", bind(&DecisionsApi::Export),
         /*record_reads=*/true});
  r.Add({"POST", "/v1/admin/decisions/verify", kAuditors, "decisions.verify", bind(&DecisionsApi::Verify)});
  r.Add({"GET", "/v1/admin/decisions/{id}", kAuditors, "decisions.get", bind(&DecisionsApi::Get)});
}

}  // namespace tosgate::api::admin
