#include "storage/audit/postgres/verify.h"

#include <algorithm>

#include "storage/audit/anchor.h"
#include "storage/audit/chain.h"
#include "storage/audit/chain_check.h"
#include "storage/audit/postgres/query.h"
#include "storage/audit/postgres/rows.h"
#include "storage/audit/postgres/schema.h"

namespace tosgate::storage {
Result<FleetVerdict> VerifyPostgresAuditStore(const std::string& dsn,
                                              const PostgresVerifyOptions& opts) {
  auto opened = OpenPostgresAuditStore(dsn);
  if (!opened.ok()) return opened.status();
  PGconn* c = opened->get();
  // One snapshot for the whole fleet while gateways append.
  if (auto r = PgExec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "verifying"); !r.ok())
    return r.status();

  auto select = PostgresDecisionSelect(c);
  if (!select.ok()) return select.status();
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
  const AuditCheckpoint* a = opts.anchor;
  if (a && (opts.instance.empty() || opts.instance == a->instance)) {
    const bool present =
        std::any_of(fleet.instances.begin(), fleet.instances.end(),
                    [a](const InstanceVerdict& iv) { return iv.instance == a->instance; });
    if (!present) {
      InstanceVerdict gone{a->instance, {}};
      gone.verdict.ok = false;
      gone.verdict.bad_seq = a->seq;
      gone.verdict.problem = "seq 1 to " + std::to_string(a->seq) +
                             " are missing: the anchored chain was deleted (the anchor names seq " +
                             std::to_string(a->seq) + ")";
      fleet.ok = false;
      fleet.instances.push_back(std::move(gone));
      std::sort(fleet.instances.begin(), fleet.instances.end(),
                [](const InstanceVerdict& x, const InstanceVerdict& y) {
                  return x.instance < y.instance;
                });
    }
  }
  if (!opts.instance.empty() && fleet.instances.empty()) {
    return Status::NotFound(PgDescribe(c) + ": no records from instance '" + opts.instance +
                            "' in the audit store");
  }

  for (InstanceVerdict& iv : fleet.instances) {
    if (!iv.verdict.ok) continue;  // the anchored instance that is gone
    const bool anchored = a && iv.instance == a->instance;
    std::string anchored_hash;
    PgParams ip;
    const std::string declare = "DECLARE tosgate_chain NO SCROLL CURSOR FOR SELECT " +
                                select->columns +
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
        const StoredDecision d = ReadPostgresDecisionRow(res->get(), i);
        if (!check.Add(d)) {
          more = false;
          break;
        }
        if (anchored && d.seq == a->seq) anchored_hash = check.last_hash();
        if (opts.progress && (fleet.records + check.verdict().records) % 65536 == 0)
          opts.progress(fleet.records + check.verdict().records, total);
      }
    }
    if (auto r = PgExec(c, "CLOSE tosgate_chain", "reading a chain"); !r.ok()) return r.status();
    AuditVerdict& v = check.verdict();
    if (anchored && v.ok) {
      if (v.last_seq < a->seq) {
        check.Fail(v.last_seq + 1, "",
                   "seq " + std::to_string(v.last_seq + 1) + " to " + std::to_string(a->seq) +
                       " are missing: the chain ends at seq " + std::to_string(v.last_seq) +
                       ", before the anchored seq " + std::to_string(a->seq) +
                       ": records at the end were deleted");
      } else if (anchored_hash != a->hash) {
        check.Fail(a->seq, "",
                   "seq " + std::to_string(a->seq) +
                       " does not have the anchored hash: the records up to it were rewritten "
                       "(and the chain recomputed)");
      }
    }
    iv.verdict = check.verdict();
    iv.verdict.last_hash = check.last_hash();
    fleet.records += iv.verdict.records;
    fleet.ok = fleet.ok && iv.verdict.ok;
  }
  PgResult(PQexec(c, "COMMIT"));
  if (opts.progress) opts.progress(fleet.records, total);
  if (a) {
    fleet.notes.push_back("instance " + a->instance + " was checked against its anchor (seq " +
                          std::to_string(a->seq) +
                          "); records deleted from the end of any other chain are not detected");
  } else {
    fleet.notes.push_back(
        "PostgreSQL keeps no signed checkpoints: each chain is checked link by link, and records "
        "deleted from the end of a chain are not detected without --anchor FILE (audit.anchor)");
  }
  return fleet;
}

}  // namespace tosgate::storage
