#include "storage/postgres_audit_verify.h"

#include "storage/audit_chain.h"
#include "storage/postgres_audit_query.h"
#include "storage/postgres_audit_rows.h"
#include "storage/postgres_audit_schema.h"

namespace tosgate::storage {
namespace {

std::string Named(uint64_t seq, const std::string& id) {
  return "seq " + std::to_string(seq) + " (decision " + (id.empty() ? "with no id" : id) + ")";
}

// One instance's chain, fed its records in seq order; the words of the
// SQLite check (storage/audit_verify.cc) without anchor and checkpoints.
class ChainCheck {
 public:
  // False once a problem is found: the verdict is final.
  bool Add(const StoredDecision& d) {
    const std::string& id = d.record.id;
    if (d.seq < expected_) {
      return Bad(d.seq, id, Named(d.seq, id) + ": a chain starts at seq 1: inserted");
    }
    if (d.seq > expected_) {
      const std::string missing = d.seq - 1 == expected_
                                      ? "seq " + std::to_string(expected_) + " is missing"
                                      : "seq " + std::to_string(expected_) + " to " +
                                            std::to_string(d.seq - 1) + " are missing";
      return Bad(expected_, id,
                 missing + ": deleted (the next record present is " + Named(d.seq, id) + ")");
    }
    if (d.prev_hash != prev_) {
      if (d.seq >= 2 && d.prev_hash == prev2_) {
        // It chains past the record before it: that one was slipped in.
        return Bad(d.seq - 1, prev_id_,
                   Named(d.seq - 1, prev_id_) + ": inserted (" + Named(d.seq, id) +
                       " chains to seq " + std::to_string(d.seq - 2) + ")");
      }
      return Bad(d.seq, id,
                 Named(d.seq, id) + ": its prev_hash is not the hash of seq " +
                     std::to_string(d.seq - 1) +
                     ": a record was inserted, replaced or reordered here (or the previous one "
                     "edited together with its hash)");
    }
    std::string hash = AuditChainHash(prev_, d.seq, d.record, &scratch_);
    if (hash != d.hash)
      return Bad(d.seq, id, Named(d.seq, id) + ": its contents do not match its hash: edited");
    prev2_ = std::move(prev_);
    prev_ = std::move(hash);
    prev_id_ = id;
    v_.last_seq = d.seq;
    ++v_.records;
    ++expected_;
    return true;
  }
  const AuditVerdict& verdict() const { return v_; }

 private:
  bool Bad(uint64_t seq, const std::string& id, std::string problem) {
    v_.ok = false;
    v_.bad_seq = seq;
    v_.bad_id = id;
    v_.problem = std::move(problem);
    return false;
  }
  AuditVerdict v_;
  uint64_t expected_ = 1;
  std::string prev_ = AuditGenesisHash(), prev2_, prev_id_, scratch_;
};

}  // namespace

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
    ChainCheck check;
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
