#include "storage/postgres_audit_verify.h"

#include "storage/audit_chain.h"
#include "storage/audit_chain_check.h"
#include "storage/postgres_audit_query.h"
#include "storage/postgres_audit_rows.h"
#include "storage/postgres_audit_schema.h"

namespace tosgate::storage {
Result<FleetVerdict> VerifyPostgresAuditStore(const std::string& dsn,
                                              const PostgresVerifyOptions& opts) {
  auto opened = OpenPostgresAuditStore(dsn);
  if (!opened.ok()) return opened.status();
  PGconn* c = opened->get();
  // One snapshot for the whole fleet while gateways append.
  if (auto r = PgExec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "verifying"); !r.ok())
    return r.status();

  PgParams p;
  std::string sql = "SELECT instance, count(*) FROM tosgate_decisions";
  if (!opts.instance.empty()) sql += " WHERE instance = " + p.Add(opts.instance);
  sql += " GROUP BY instance ORDER BY instance COLLATE \"C\"";
  auto list = PgExecWith(c, sql, p, "listing instances");
  if (!list.ok()) return list.status();
  FleetVerdict fleet;
  uint64_t total = 0;
  for (int i = 0; i < PQntuples(list->get()); ++i) {
    fleet.instances.push_back({PgText(list->get(), i, 0), {}});
    total += std::stoull(PgText(list->get(), i, 1));
  }
  if (!opts.instance.empty() && fleet.instances.empty()) {
    return Status::NotFound(PgDescribe(c) + ": no records from instance '" + opts.instance +
                            "' in the audit store");
  }

  for (InstanceVerdict& iv : fleet.instances) {
    PgParams ip;
    const std::string declare = std::string("DECLARE tosgate_chain NO SCROLL CURSOR FOR SELECT ") +
                                kPostgresDecisionColumns +
                                " FROM tosgate_decisions WHERE instance = " + ip.Add(iv.instance) +
                                " ORDER BY seq";
    if (auto r = PgExecWith(c, declare, ip, "reading a chain"); !r.ok()) return r.status();
    const std::string fetch =
        "FETCH FORWARD " + std::to_string(PostgresAuditQuery::kFetchRows) + " FROM tosgate_chain";
    AuditChainCheck check(1, AuditGenesisHash(), ": a chain starts at seq 1: inserted");
    for (bool more = true; more;) {
      auto res = PgExec(c, fetch.c_str(), "reading a chain");
      if (!res.ok()) return res.status();
      const int n = PQntuples(res->get());
      more = n == PostgresAuditQuery::kFetchRows;
      for (int i = 0; i < n; ++i) {
        if (!check.Add(ReadPostgresDecisionRow(res->get(), i))) {
          more = false;
          break;
        }
        if (opts.progress && (fleet.records + check.verdict().records) % 65536 == 0)
          opts.progress(fleet.records + check.verdict().records, total);
      }
    }
    if (auto r = PgExec(c, "CLOSE tosgate_chain", "reading a chain"); !r.ok()) return r.status();
    iv.verdict = check.verdict();
    fleet.records += iv.verdict.records;
    fleet.ok = fleet.ok && iv.verdict.ok;
  }
  PgResult(PQexec(c, "COMMIT"));
  if (opts.progress) opts.progress(fleet.records, total);
  fleet.notes.push_back(
      "PostgreSQL keeps no signed checkpoints: each chain is checked link by link, and records "
      "deleted from the end of a chain are not detected");
  return fleet;
}

}  // namespace tosgate::storage
