#include "storage/audit/postgres/schema.h"

#include <string>

#include "storage/audit/postgres/util.h"

namespace tosgate::storage {
namespace {

// The SQLite
// columns (storage/audit/sqlite/schema.cc) with `instance` first; a pair
// (instance, seq) is one record, and each instance chains its own rows.
// tosgate_traces holds the W3C trace context of the decisions that carried
// one, tosgate_costs what cost budgets reserved and settled for a decision
// (nano-dollars, -1 for none), as SQLite's `traces` and `costs` tables do:
// added within schema version 1, so a store made before them gains them
// when a gateway next opens it, and readers of a store without them read
// '' and -1 for every record (which hash as before).
constexpr const char kCreateSql[] = R"sql(
CREATE TABLE IF NOT EXISTS tosgate_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tosgate_decisions (
  instance        TEXT     NOT NULL,
  seq             BIGINT   NOT NULL,
  id              TEXT     NOT NULL DEFAULT '',
  time_ms         BIGINT   NOT NULL,
  request_id      TEXT     NOT NULL DEFAULT '',
  account         TEXT     NOT NULL DEFAULT '',
  key_id          TEXT     NOT NULL DEFAULT '',
  org             TEXT     NOT NULL DEFAULT '',
  client_ip       TEXT     NOT NULL DEFAULT '',
  method          TEXT     NOT NULL DEFAULT '',
  path            TEXT     NOT NULL DEFAULT '',
  operation       TEXT     NOT NULL DEFAULT '',
  model           TEXT     NOT NULL DEFAULT '',
  effect          TEXT     NOT NULL,
  enforced        BOOLEAN  NOT NULL,
  status          INTEGER  NOT NULL,
  reason          TEXT     NOT NULL DEFAULT '',
  rule_ids        TEXT     NOT NULL DEFAULT '[]',
  matches         TEXT     NOT NULL DEFAULT '[]',
  risk            DOUBLE PRECISION,
  policy_revision TEXT     NOT NULL DEFAULT '',
  prompt_sha256   TEXT     NOT NULL DEFAULT '',
  latency_us      BIGINT   NOT NULL,
  prev_hash       BYTEA    NOT NULL,
  hash            BYTEA    NOT NULL,
  PRIMARY KEY (instance, seq)
);
CREATE INDEX IF NOT EXISTS tosgate_decisions_account_time ON tosgate_decisions (account, time_ms);
CREATE INDEX IF NOT EXISTS tosgate_decisions_time ON tosgate_decisions (time_ms);
CREATE TABLE IF NOT EXISTS tosgate_traces (
  instance     TEXT   NOT NULL,
  seq          BIGINT NOT NULL,
  traceparent  TEXT   NOT NULL,
  tracestate   TEXT   NOT NULL DEFAULT '',
  PRIMARY KEY (instance, seq)
);
CREATE TABLE IF NOT EXISTS tosgate_costs (
  instance     TEXT   NOT NULL,
  seq          BIGINT NOT NULL,
  reserved     BIGINT NOT NULL,
  settled      BIGINT NOT NULL,
  PRIMARY KEY (instance, seq)
);
)sql";

std::string WithoutSpaces(const char* s) {
  std::string out;
  for (; *s; ++s)
    if (*s != ' ') out.push_back(*s);
  return out;
}

Status CreateOrCheck(PGconn* conn) {
  const std::string lock = "SELECT pg_advisory_xact_lock(" +
                           std::to_string(kPostgresSchemaLockKey) + ")";
  if (auto r = PgExec(conn, lock.c_str(), "locking the audit schema"); !r.ok()) return r.status();
  auto existing = PgExec(conn,
                         "SELECT to_regclass('tosgate_meta') IS NOT NULL, "
                         "to_regclass('tosgate_decisions') IS NOT NULL",
                         "reading the audit schema");
  if (!existing.ok()) return existing.status();
  const bool has_meta = PgText(existing->get(), 0, 0) == "t";
  const bool has_decisions = PgText(existing->get(), 0, 1) == "t";
  if (has_decisions && !has_meta) {
    return Status::InvalidArgument(PgDescribe(conn) +
                                   ": not a tosgate audit store (a tosgate_decisions table "
                                   "without tosgate_meta)");
  }
  if (has_meta) {
    auto v = PgExec(conn, "SELECT value FROM tosgate_meta WHERE key = 'schema_version'",
                    "reading the audit schema version");
    if (!v.ok()) return v.status();
    if (PQntuples(v->get()) == 1) {
      const std::string got = PgText(v->get(), 0, 0);
      if (got != std::to_string(kPostgresAuditSchemaVersion)) {
        return Status::InvalidArgument(
            PgDescribe(conn) + ": audit store schema version " + got +
            " is not the one this tosgate writes (" +
            std::to_string(kPostgresAuditSchemaVersion) +
            "); use the tosgate that wrote it or a newer one");
      }
    } else if (has_decisions) {
      return Status::InvalidArgument(PgDescribe(conn) +
                                     ": not a tosgate audit store (tosgate_meta has no "
                                     "schema_version)");
    }
  }
  if (auto r = PgExec(conn, kCreateSql, "creating the audit tables"); !r.ok()) return r.status();
  const std::string meta = "INSERT INTO tosgate_meta (key, value) VALUES ('schema_version', '" +
                           std::to_string(kPostgresAuditSchemaVersion) +
                           "') ON CONFLICT (key) DO NOTHING";
  if (auto r = PgExec(conn, meta.c_str(), "writing the schema version"); !r.ok()) return r.status();

  // A table of that name made by something else is not written into.
  auto cols = PgExec(conn,
                     "SELECT string_agg(column_name::text, ',' ORDER BY ordinal_position) "
                     "FROM information_schema.columns WHERE table_schema = current_schema() "
                     "AND table_name = 'tosgate_decisions'",
                     "reading the audit table's columns");
  if (!cols.ok()) return cols.status();
  const std::string got = PgText(cols->get(), 0, 0);
  const std::string want = WithoutSpaces(kPostgresDecisionColumns);
  if (got != want) {
    return Status::InvalidArgument(PgDescribe(conn) +
                                   ": not a tosgate audit store: tosgate_decisions has columns (" +
                                   got + "), expected (" + want + ")");
  }
  return Status::Ok();
}

}  // namespace

const char kPostgresDecisionColumns[] =
    "instance, seq, id, time_ms, request_id, account, key_id, org, client_ip, method, path, "
    "operation, model, effect, enforced, status, reason, rule_ids, matches, risk, "
    "policy_revision, prompt_sha256, latency_us, prev_hash, hash";

const char kPostgresTraceColumns[] = "instance, seq, traceparent, tracestate";
const char kPostgresCostColumns[] = "instance, seq, reserved, settled";

Status EnsurePostgresAuditSchema(PGconn* conn) {
  if (auto r = PgExec(conn, "BEGIN", "starting the schema transaction"); !r.ok()) return r.status();
  Status s = CreateOrCheck(conn);
  if (s.ok()) {
    if (auto r = PgExec(conn, "COMMIT", "creating the audit schema"); !r.ok()) s = r.status();
    return s;
  }
  PgResult(PQexec(conn, "ROLLBACK"));
  return s;
}

}  // namespace tosgate::storage
