#include "storage/audit/postgres/query.h"

#include <algorithm>
#include <string>

#include "storage/audit/postgres/rows.h"
#include "storage/audit/postgres/schema.h"

namespace tosgate::storage {
namespace {

constexpr int64_t kHourMs = 3600000;

// rule_ids values the rule filter looks into: a JSON array of strings with
// no escapes, which is what the engine writes (rule ids are code names).
// Anything else matches no rule, as in SQLite, and is never cast to jsonb
// (an invalid one would abort the whole query). A regular expression on
// stored data, run by the server; the pattern is ours, not the user's.
constexpr char kPlainStringArray[] =
    "^[ \\t\\n\\r]*\\[[ \\t\\n\\r]*"
    "(\"[^\"\\\\\\x01-\\x1f]*\"[ \\t\\n\\r]*(,[ \\t\\n\\r]*\"[^\"\\\\\\x01-\\x1f]*\"[ "
    "\\t\\n\\r]*)*)?"
    "\\][ \\t\\n\\r]*$";

// The fleet order; "C" so it is bytewise, the same in every locale and the
// same as the cursor's comparison below.
constexpr char kOrder[] = " ORDER BY time_ms, instance COLLATE \"C\", seq";

// The WHERE clause for `f` and an optional cursor; values go into `p`.
// `traces`: the store has tosgate_traces (PostgresDecisionSelect).
std::string Where(const AuditFilter& f, const std::optional<AuditCursor>& c, bool traces,
                  PgParams* p) {
  std::string w = " WHERE true";
  for (auto [column, value] :
       {std::pair{"account", &f.account}, std::pair{"org", &f.org}, std::pair{"effect", &f.effect},
        std::pair{"reason", &f.reason}, std::pair{"instance", &f.instance}}) {
    if (!value->empty()) w += std::string(" AND ") + column + " = " + p->Add(*value);
  }
  // traceparent is "00-<trace id>-<parent id>-<flags>" (engine/trace_context.h).
  // A store without the table has no decision with a trace context.
  if (!f.trace_id.empty()) {
    w += traces ? " AND (instance, seq) IN (SELECT instance, seq FROM tosgate_traces WHERE "
                  "substr(traceparent, 4, 32) = " + p->Add(f.trace_id) + ")"
                : " AND false";
  }
  if (f.since_ms) w += " AND time_ms >= " + p->Add(std::to_string(*f.since_ms)) + "::bigint";
  if (f.until_ms) w += " AND time_ms < " + p->Add(std::to_string(*f.until_ms)) + "::bigint";
  if (!f.rule.empty()) {
    // CASE, so the cast only ever sees a value the pattern vouched for.
    w += " AND CASE WHEN rule_ids ~ " + p->Add(kPlainStringArray) + " THEN rule_ids::jsonb ? " +
         p->Add(f.rule) + " ELSE false END";
  }
  if (c) {
    const std::string t = p->Add(std::to_string(c->time_ms)) + "::bigint";
    const std::string i = p->Add(c->instance) + "::text COLLATE \"C\"";
    const std::string s = p->Add(std::to_string(c->seq)) + "::bigint";
    // The plain range term lets the time index seek.
    w += " AND time_ms >= " + t + " AND (time_ms > " + t + " OR (time_ms = " + t +
         " AND (instance COLLATE \"C\" > " + i + " OR (instance = " + i + " AND seq > " + s +
         "))))";
  }
  return w;
}

}  // namespace

struct PostgresAuditQuery::Impl {
  PgConn conn;
  PostgresSelect select;

  std::string Where(const AuditFilter& f, const std::optional<AuditCursor>& c, PgParams* p) const {
    return tosgate::storage::Where(f, c, select.traces, p);
  }
  std::string RowsSql(const AuditFilter& f, const std::optional<AuditCursor>& c,
                      PgParams* p) const {
    return "SELECT " + select.columns + " FROM tosgate_decisions" + Where(f, c, p) + kOrder;
  }
};


PostgresAuditQuery::PostgresAuditQuery(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PostgresAuditQuery::~PostgresAuditQuery() = default;

Result<std::unique_ptr<PostgresAuditQuery>> PostgresAuditQuery::Open(const std::string& dsn) {
  auto conn = OpenPostgresAuditStore(dsn);
  if (!conn.ok()) return conn.status();
  auto impl = std::make_unique<Impl>();
  impl->conn = std::move(conn.value());
  auto select = PostgresDecisionSelect(impl->conn.get());
  if (!select.ok()) return select.status();
  impl->select = std::move(select.value());
  return std::unique_ptr<PostgresAuditQuery>(new PostgresAuditQuery(std::move(impl)));
}

Result<AuditPage> PostgresAuditQuery::Page(const AuditFilter& f, size_t limit,
                                           std::optional<AuditCursor> after) {
  if (limit == 0) return Status::InvalidArgument("a page holds at least one row");
  PgParams p;
  // One row more than asked says whether another page follows.
  const std::string sql =
      impl_->RowsSql(f, after, &p) + " LIMIT " + p.Add(std::to_string(limit + 1));
  auto res = PgExecWith(impl_->conn.get(), sql, p, "querying decisions");
  if (!res.ok()) return res.status();
  const int n = PQntuples(res->get());
  AuditPage page;
  page.rows.reserve(std::min<size_t>(limit, static_cast<size_t>(n)));
  for (int i = 0; i < n && page.rows.size() < limit; ++i)
    page.rows.push_back(ReadPostgresDecisionRow(res->get(), i));
  if (static_cast<size_t>(n) > limit) {
    const StoredDecision& last = page.rows.back();
    page.next = AuditCursor{last.record.time_ms, last.seq, last.instance};
  }
  return page;
}

Status PostgresAuditQuery::ForEach(const AuditFilter& f,
                                   const std::function<bool(const StoredDecision&)>& row) {
  PGconn* c = impl_->conn.get();
  if (auto r = PgExec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "reading decisions");
      !r.ok())
    return r.status();
  // Ends the transaction whatever happens; a failed statement has already
  // aborted it, so ROLLBACK is always right.
  struct Rollback {
    PGconn* c;
    ~Rollback() { PgResult(PQexec(c, "ROLLBACK")); }
  } rollback{c};
  PgParams p;
  const std::string declare =
      "DECLARE tosgate_rows NO SCROLL CURSOR FOR " + impl_->RowsSql(f, std::nullopt, &p);
  if (auto r = PgExecWith(c, declare, p, "reading decisions"); !r.ok()) return r.status();
  const std::string fetch = "FETCH FORWARD " + std::to_string(kFetchRows) + " FROM tosgate_rows";
  for (;;) {
    auto res = PgExec(c, fetch.c_str(), "reading decisions");
    if (!res.ok()) return res.status();
    const int n = PQntuples(res->get());
    for (int i = 0; i < n; ++i) {
      if (!row(ReadPostgresDecisionRow(res->get(), i))) return Status::Ok();
    }
    if (n < kFetchRows) return Status::Ok();
  }
}

Result<uint64_t> PostgresAuditQuery::Count(const AuditFilter& f) {
  PgParams p;
  const std::string sql =
      "SELECT count(*) FROM tosgate_decisions" + impl_->Where(f, std::nullopt, &p);
  auto res = PgExecWith(impl_->conn.get(), sql, p, "counting decisions");
  if (!res.ok()) return res.status();
  return static_cast<uint64_t>(std::stoull(PgText(res->get(), 0, 0)));
}

Result<std::vector<HourlyCount>> PostgresAuditQuery::Stats(const AuditFilter& f) {
  PgParams p;
  const std::string hour = p.Add(std::to_string(kHourMs)) + "::bigint";
  // Floor division, so times before 1970 land in the right hour too.
  const std::string sql = "SELECT time_ms - (((time_ms % " + hour + ") + " + hour + ") % " + hour +
                          ") AS hour, effect, count(*) FROM tosgate_decisions" +
                          impl_->Where(f, std::nullopt, &p) +
                          " GROUP BY hour, effect ORDER BY hour, effect COLLATE \"C\"";
  auto res = PgExecWith(impl_->conn.get(), sql, p, "counting decisions per hour");
  if (!res.ok()) return res.status();
  std::vector<HourlyCount> out;
  const int n = PQntuples(res->get());
  out.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    out.push_back({std::stoll(PgText(res->get(), i, 0)), PgText(res->get(), i, 1),
                   static_cast<uint64_t>(std::stoull(PgText(res->get(), i, 2)))});
  }
  return out;
}

}  // namespace tosgate::storage
