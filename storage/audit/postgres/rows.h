// What the PostgreSQL audit readers (postgres_audit_query, postgres_audit_verify)
// share: opening the store read-only and turning a tosgate_decisions row into
// a StoredDecision. Private to storage/; includes libpq-fe.h.
#pragma once

#include <string>
#include <vector>

#include "storage/audit/reader.h"
#include "storage/audit/postgres/util.h"
#include "tosgate/status.h"

namespace tosgate::storage {

// Connects (storage/audit/postgres/util.h ConnectPostgres: InvalidArgument for a
// bad DSN or refused credentials, Unavailable when nothing answers), sets
// the session up for exact reading (shortest round-trip doubles, hex bytea)
// and checks the schema: NotFound when the database has no tosgate audit
// store, InvalidArgument for a schema version this code does not know.
// Nothing is written.
Result<PgConn> OpenPostgresAuditStore(const std::string& dsn);

// What readers select from tosgate_decisions: kPostgresDecisionColumns, then
// each record's traceparent and tracestate from tosgate_traces ('' without
// one) and its reserved and settled cost from tosgate_costs (-1 without). A
// store from before those tables (a gateway creates them when it next
// opens the store) reads '' and -1 for every record.
struct PostgresSelect {
  std::string columns;
  bool traces = false;  // the store has tosgate_traces
};
Result<PostgresSelect> PostgresDecisionSelect(PGconn* conn);

// A row selected with PostgresDecisionSelect's list (instance first).
StoredDecision ReadPostgresDecisionRow(const PGresult* res, int row);

// Text parameters for PQexecParams, numbered as they are added.
class PgParams {
 public:
  // Adds `value` and returns its placeholder ("$3").
  std::string Add(std::string value) {
    values_.push_back(std::move(value));
    return "$" + std::to_string(values_.size());
  }
  int size() const { return static_cast<int>(values_.size()); }
  // Pointers into the values; valid while this object is unchanged.
  std::vector<const char*> Pointers() const {
    std::vector<const char*> out;
    out.reserve(values_.size());
    for (const std::string& v : values_) out.push_back(v.c_str());
    return out;
  }

 private:
  std::vector<std::string> values_;
};

// Runs `sql` with `params` (text in, text out).
Result<PgResult> PgExecWith(PGconn* conn, const std::string& sql, const PgParams& params,
                            std::string_view what);

}  // namespace tosgate::storage
