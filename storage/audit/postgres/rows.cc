#include "storage/audit/postgres/rows.h"

#include <charconv>
#include <cstdlib>
#include <limits>

#include "storage/audit/postgres/schema.h"

namespace tosgate::storage {
namespace {

int64_t Int(const PGresult* r, int row, int col) {
  const char* v = PQgetvalue(r, row, col);
  int64_t out = 0;
  std::from_chars(v, v + PQgetlength(r, row, col), out);
  return out;
}

// NULL is how a NaN risk is stored (as in SQLite); "NaN" and "Infinity"
// read back through strtod too.
double Double(const PGresult* r, int row, int col) {
  if (PQgetisnull(r, row, col)) return std::numeric_limits<double>::quiet_NaN();
  return std::strtod(PQgetvalue(r, row, col), nullptr);
}

}  // namespace

Result<PgConn> OpenPostgresAuditStore(const std::string& dsn) {
  auto conn = ConnectPostgres(dsn);
  if (!conn.ok()) return conn.status();
  PGconn* c = conn->get();
  // Doubles as the shortest text that reads back exactly (the chain hashes
  // their bits), bytea as hex (what PgBytea decodes), whatever the DSN's
  // options or the server's defaults say.
  if (auto r = PgExec(c, "SET extra_float_digits = 3; SET bytea_output = 'hex'",
                      "setting up the session");
      !r.ok())
    return r.status();
  auto tables = PgExec(c,
                       "SELECT to_regclass('tosgate_decisions') IS NOT NULL, "
                       "to_regclass('tosgate_meta') IS NOT NULL",
                       "looking for the audit tables");
  if (!tables.ok()) return tables.status();
  if (PgText(tables->get(), 0, 0) != "t" || PgText(tables->get(), 0, 1) != "t") {
    return Status::NotFound(PgDescribe(c) +
                            ": no tosgate audit store here (no tosgate_decisions and "
                            "tosgate_meta tables; a gateway with audit.backend postgres "
                            "creates them)");
  }
  auto v = PgExec(c, "SELECT value FROM tosgate_meta WHERE key = 'schema_version'",
                  "reading the audit schema version");
  if (!v.ok()) return v.status();
  const std::string got = PQntuples(v->get()) == 1 ? PgText(v->get(), 0, 0) : "";
  if (got != std::to_string(kPostgresAuditSchemaVersion)) {
    return Status::InvalidArgument(PgDescribe(c) + ": audit store schema version '" + got +
                                   "' is not one this tosgate knows (" +
                                   std::to_string(kPostgresAuditSchemaVersion) + ")");
  }
  return std::move(conn.value());
}

Result<PostgresSelect> PostgresDecisionSelect(PGconn* conn) {
  auto has = PgExec(conn,
                    "SELECT to_regclass('tosgate_traces') IS NOT NULL, "
                    "to_regclass('tosgate_costs') IS NOT NULL",
                    "looking for the trace context and cost tables");
  if (!has.ok()) return has.status();
  PostgresSelect s{kPostgresDecisionColumns, PgText(has->get(), 0, 0) == "t"};
  const bool costs = PgText(has->get(), 0, 1) == "t";
  // The record's value in `table`, or `none` when it has none there.
  auto joined = [&s](bool present, const char* table, const char* column, const char* none) {
    if (!present) {
      s.columns += std::string(", ") + none;
      return;
    }
    s.columns += std::string(", coalesce((SELECT x.") + column + " FROM " + table +
                 " x WHERE x.instance = tosgate_decisions.instance AND x.seq = "
                 "tosgate_decisions.seq), " + none + ")";
  };
  joined(s.traces, "tosgate_traces", "traceparent", "''");
  joined(s.traces, "tosgate_traces", "tracestate", "''");
  joined(costs, "tosgate_costs", "reserved", "-1");
  joined(costs, "tosgate_costs", "settled", "-1");
  return s;
}

StoredDecision ReadPostgresDecisionRow(const PGresult* res, int row) {
  StoredDecision d;
  AuditRow& r = d.record;
  d.instance = PgText(res, row, 0);
  d.seq = static_cast<uint64_t>(Int(res, row, 1));
  r.id = PgText(res, row, 2);
  r.time_ms = Int(res, row, 3);
  r.request_id = PgText(res, row, 4);
  r.account = PgText(res, row, 5);
  r.key_id = PgText(res, row, 6);
  r.org = PgText(res, row, 7);
  r.client_ip = PgText(res, row, 8);
  r.method = PgText(res, row, 9);
  r.path = PgText(res, row, 10);
  r.operation = PgText(res, row, 11);
  r.model = PgText(res, row, 12);
  r.effect = PgText(res, row, 13);
  r.enforced = PgText(res, row, 14) == "t";
  r.status = static_cast<int>(Int(res, row, 15));
  r.reason = PgText(res, row, 16);
  r.rule_ids = PgText(res, row, 17);
  r.matches = PgText(res, row, 18);
  r.risk = Double(res, row, 19);
  r.policy_revision = PgText(res, row, 20);
  r.prompt_sha256 = PgText(res, row, 21);
  r.latency_us = Int(res, row, 22);
  d.prev_hash = PgBytea(res, row, 23);
  d.hash = PgBytea(res, row, 24);
  if (PQnfields(res) > 28) {  // PostgresDecisionSelect's list
    r.traceparent = PgText(res, row, 25);
    r.tracestate = PgText(res, row, 26);
    r.cost_reserved_nano = Int(res, row, 27);
    r.cost_settled_nano = Int(res, row, 28);
  }
  return d;
}

Result<PgResult> PgExecWith(PGconn* conn, const std::string& sql, const PgParams& params,
                            std::string_view what) {
  const std::vector<const char*> values = params.Pointers();
  return PgExecParams(conn, sql.c_str(), params.size(), values.data(), what);
}

}  // namespace tosgate::storage
