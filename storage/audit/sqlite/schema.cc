#include "storage/audit/sqlite/schema.h"

#include <chrono>
#include <limits>
#include <string>

#include "storage/sqlite/util.h"

namespace tosgate::storage {
namespace {

// Text columns are NOT NULL DEFAULT '': an empty field is stored as ''.
// `risk` is the one nullable column: SQLite stores NaN as NULL.
constexpr const char kCreateSql[] = R"sql(
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE decisions (
  seq             INTEGER PRIMARY KEY,  -- 1, 2, 3, ... per store, in commit order
  id              TEXT    NOT NULL DEFAULT '',
  time_ms         INTEGER NOT NULL,
  request_id      TEXT    NOT NULL DEFAULT '',
  account         TEXT    NOT NULL DEFAULT '',
  key_id          TEXT    NOT NULL DEFAULT '',  -- SHA-256 of the API key, hex; never the key
  org             TEXT    NOT NULL DEFAULT '',
  client_ip       TEXT    NOT NULL DEFAULT '',
  method          TEXT    NOT NULL DEFAULT '',
  path            TEXT    NOT NULL DEFAULT '',
  operation       TEXT    NOT NULL DEFAULT '',
  model           TEXT    NOT NULL DEFAULT '',
  effect          TEXT    NOT NULL,             -- allow | throttle | deny
  enforced        INTEGER NOT NULL,             -- 0 | 1
  status          INTEGER NOT NULL,
  reason          TEXT    NOT NULL DEFAULT '',
  rule_ids        TEXT    NOT NULL DEFAULT '[]',  -- JSON array of rule ids
  matches         TEXT    NOT NULL DEFAULT '[]',  -- JSON array of matched rules
  risk            REAL,
  policy_revision TEXT    NOT NULL DEFAULT '',
  prompt_sha256   TEXT    NOT NULL DEFAULT '',  -- hex; '' when there was no prompt
  latency_us      INTEGER NOT NULL,
  prev_hash       BLOB,                         -- hash of seq - 1 (zeros for seq 1)
  hash            BLOB                          -- see docs/audit.md, "Hash chain"
);
CREATE INDEX decisions_account_time ON decisions (account, time_ms);
CREATE INDEX decisions_time ON decisions (time_ms);
)sql";

// Added within version 1: older version-1 stores get it on their next open
// by the writer, and readers that do not know it ignore it.
constexpr const char kCreateCheckpointsSql[] = R"sql(
CREATE TABLE IF NOT EXISTS checkpoints (
  seq          INTEGER PRIMARY KEY,  -- the decision signed
  hash         BLOB    NOT NULL,     -- its chain hash
  signed_at_ms INTEGER NOT NULL,     -- wall clock; informational only
  signature    BLOB    NOT NULL,     -- Ed25519 over storage/audit/signing.h's message
  key_id       TEXT    NOT NULL      -- first 16 hex digits of SHA-256(public key)
);
)sql";

// The W3C trace context of the decisions that carried one, added within
// version 1 like checkpoints: older version-1 stores get the table on their
// next open by the writer, and readers of a store without it read '' for
// every record (DecisionColumns), which hashes as before. A table of its
// own rather than columns of `decisions`, whose shape every tool reading
// the store knows; its rows go with their decision's (the trigger: prune).
constexpr const char kCreateTracesSql[] = R"sql(
CREATE TABLE IF NOT EXISTS traces (
  seq          INTEGER PRIMARY KEY,  -- the decision's
  traceparent  TEXT    NOT NULL,
  tracestate   TEXT    NOT NULL DEFAULT ''
);
CREATE TRIGGER IF NOT EXISTS traces_follow_decisions AFTER DELETE ON decisions
BEGIN DELETE FROM traces WHERE seq = old.seq; END;
)sql";

// What cost budgets reserved and settled for a record (nano-dollars, -1
// for none), added like traces: a table of its own, '-1' for every record
// of a store written before it.
constexpr const char kCreateCostsSql[] = R"sql(
CREATE TABLE IF NOT EXISTS costs (
  seq       INTEGER PRIMARY KEY,  -- the decision's
  reserved  INTEGER NOT NULL,
  settled   INTEGER NOT NULL
);
CREATE TRIGGER IF NOT EXISTS costs_follow_decisions AFTER DELETE ON decisions
BEGIN DELETE FROM costs WHERE seq = old.seq; END;
)sql";

Result<int64_t> QueryInt(sqlite3* db, const char* sql, std::string_view path) {
  auto st = Prepare(db, sql, path);
  if (!st.ok()) return st.status();
  int rc = sqlite3_step(st->get());
  if (rc != SQLITE_ROW) return SqliteStatus(db, rc, path, sql);
  return static_cast<int64_t>(sqlite3_column_int64(st->get(), 0));
}

Status CreateOrCheck(sqlite3* db, std::string_view path) {
  auto version = QueryInt(db, "PRAGMA user_version", path);
  if (!version.ok()) return version.status();
  if (*version == kAuditSchemaVersion) {
    auto tables = QueryInt(
        db, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='decisions'", path);
    if (!tables.ok()) return tables.status();
    if (*tables != 1)
      return Status::InvalidArgument(std::string(path) +
                                     ": not a tosgate audit store (no decisions table)");
    return Status::Ok();
  }
  if (*version > kAuditSchemaVersion) {
    return Status::InvalidArgument(std::string(path) + ": audit store schema version " +
                                   std::to_string(*version) +
                                   " is newer than this tosgate understands (" +
                                   std::to_string(kAuditSchemaVersion) +
                                   "); use the tosgate that wrote it or a newer one");
  }
  if (*version != 0) {
    return Status::InvalidArgument(std::string(path) + ": audit store schema version " +
                                   std::to_string(*version) + " is not one this tosgate knows (" +
                                   std::to_string(kAuditSchemaVersion) + ")");
  }
  auto objects = QueryInt(db, "SELECT count(*) FROM sqlite_master", path);
  if (!objects.ok()) return objects.status();
  if (*objects != 0) {
    return Status::InvalidArgument(std::string(path) +
                                   ": not a tosgate audit store (an SQLite database with other "
                                   "tables and no schema version)");
  }
  if (Status s = Exec(db, kCreateSql, path); !s.ok()) return s;
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const std::string meta = "INSERT INTO meta (key, value) VALUES ('schema_version', '" +
                           std::to_string(kAuditSchemaVersion) + "'), ('created_ms', '" +
                           std::to_string(now_ms) + "'), ('hash', 'sha256-chain-v1');" +
                           "PRAGMA user_version = " + std::to_string(kAuditSchemaVersion) + ";";
  return Exec(db, meta.c_str(), path);
}

}  // namespace

const char kInsertDecisionSql[] =
    "INSERT INTO decisions (seq, id, time_ms, request_id, account, key_id, org, client_ip, "
    "method, path, operation, model, effect, enforced, status, reason, rule_ids, matches, risk, "
    "policy_revision, prompt_sha256, latency_us, prev_hash, hash) VALUES "
    "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, "
    "?21, ?22, ?23, ?24)";

const char kInsertTraceSql[] = "INSERT OR REPLACE INTO traces (seq, traceparent, tracestate) VALUES (?1, ?2, ?3)";
const char kInsertCostSql[] = "INSERT OR REPLACE INTO costs (seq, reserved, settled) VALUES (?1, ?2, ?3)";

const char kDecisionColumns[] =
    "seq, id, time_ms, request_id, account, key_id, org, client_ip, method, path, operation, "
    "model, effect, enforced, status, reason, rule_ids, matches, risk, policy_revision, "
    "prompt_sha256, latency_us, prev_hash, hash";

Status EnsureAuditSchema(sqlite3* db, std::string_view path) {
  // IMMEDIATE: two processes opening a new file at once must not both create.
  if (Status s = Exec(db, "BEGIN IMMEDIATE", path); !s.ok()) return s;
  Status s = CreateOrCheck(db, path);
  if (s.ok()) s = Exec(db, kCreateCheckpointsSql, path);
  if (s.ok()) s = Exec(db, kCreateTracesSql, path);
  if (s.ok()) s = Exec(db, kCreateCostsSql, path);
  if (!s.ok()) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return s;
  }
  return Exec(db, "COMMIT", path);
}

Result<bool> HasTable(sqlite3* db, std::string_view path, const char* name) {
  auto st = Prepare(db, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name=?1", path);
  if (!st.ok()) return st.status();
  BindText(st->get(), 1, name);
  const int rc = sqlite3_step(st->get());
  if (rc != SQLITE_ROW) return SqliteStatus(db, rc, path, "reading the schema");
  return sqlite3_column_int64(st->get(), 0) > 0;
}

std::string DecisionColumns(sqlite3* db) {
  auto has = HasTable(db, "", "traces");
  std::string cols = kDecisionColumns;
  // A lookup by primary key per row, only for the rows selected.
  if (!has.ok() || !*has)
    cols += ", '', ''";
  else
    cols += ", coalesce((SELECT traceparent FROM traces WHERE traces.seq = decisions.seq), '')"
            ", coalesce((SELECT tracestate FROM traces WHERE traces.seq = decisions.seq), '')";
  auto costs = HasTable(db, "", "costs");
  if (!costs.ok() || !*costs)
    cols += ", -1, -1";
  else
    cols += ", coalesce((SELECT reserved FROM costs WHERE costs.seq = decisions.seq), -1)"
            ", coalesce((SELECT settled FROM costs WHERE costs.seq = decisions.seq), -1)";
  return cols;
}

Result<std::optional<AuditAnchor>> ReadAuditAnchor(sqlite3* db, std::string_view path) {
  auto st = Prepare(db,
                    "SELECT (SELECT value FROM meta WHERE key='anchor_seq'), "
                    "(SELECT value FROM meta WHERE key='anchor_hash')",
                    path, "reading the prune anchor");
  if (!st.ok()) return st.status();
  const int rc = sqlite3_step(st->get());
  if (rc != SQLITE_ROW) return SqliteStatus(db, rc, path, "reading the prune anchor");
  if (sqlite3_column_type(st->get(), 0) == SQLITE_NULL) return std::optional<AuditAnchor>();
  AuditAnchor a;
  const std::string seq_text = ColumnText(st->get(), 0);
  try {
    a.seq = std::stoull(seq_text);
  } catch (const std::exception&) {
    return Status::InvalidArgument(std::string(path) + ": the prune anchor's seq '" + seq_text +
                                   "' is not a number");
  }
  a.hash = FromHex(ColumnText(st->get(), 1));
  if (a.hash.size() != 32)
    return Status::InvalidArgument(std::string(path) + ": the prune anchor has no valid hash");
  return std::optional<AuditAnchor>(std::move(a));
}

Status WriteAuditAnchor(sqlite3* db, std::string_view path, const AuditAnchor& anchor) {
  const std::string sql = "INSERT OR REPLACE INTO meta (key, value) VALUES ('anchor_seq', '" +
                          std::to_string(anchor.seq) + "'), ('anchor_hash', '" +
                          ToHex(anchor.hash) + "')";
  return Exec(db, sql.c_str(), path);
}

std::string InsertDecisionsSql(int rows) {
  // OR ROLLBACK: a statement of several rows that might stop half-way would
  // otherwise get a statement journal (the prior contents of every page it
  // touches, spilled to a temporary file past 64 KB: a third more bytes
  // written in sync mode). The writer rolls the whole transaction back on
  // any error anyway (storage/audit/sqlite/writer.cc).
  std::string sql = "INSERT OR ROLLBACK";
  const std::string_view single(kInsertDecisionSql);
  sql.append(single.substr(6, single.find(" VALUES") + 7 - 6));
  int n = 0;
  for (int row = 0; row < rows; ++row) {
    sql += row ? ",(" : " (";
    for (int c = 0; c < kDecisionParams; ++c) {
      if (c) sql += ", ";
      sql += "?" + std::to_string(++n);
    }
    sql += ')';
  }
  return sql;
}

int BindDecision(sqlite3_stmt* st, uint64_t seq, const AuditRow& r,
                 std::string_view prev_hash, std::string_view hash, int first) {
  int rc = SQLITE_OK;
  const int o = first - 1;
  auto ok = [&rc](int r2) {
    if (rc == SQLITE_OK) rc = r2;
  };
  ok(sqlite3_bind_int64(st, o + 1, static_cast<sqlite3_int64>(seq)));
  ok(BindText(st, o + 2, r.id));
  ok(sqlite3_bind_int64(st, o + 3, r.time_ms));
  ok(BindText(st, o + 4, r.request_id));
  ok(BindText(st, o + 5, r.account));
  ok(BindText(st, o + 6, r.key_id));
  ok(BindText(st, o + 7, r.org));
  ok(BindText(st, o + 8, r.client_ip));
  ok(BindText(st, o + 9, r.method));
  ok(BindText(st, o + 10, r.path));
  ok(BindText(st, o + 11, r.operation));
  ok(BindText(st, o + 12, r.model));
  ok(BindText(st, o + 13, r.effect));
  ok(sqlite3_bind_int(st, o + 14, r.enforced ? 1 : 0));
  ok(sqlite3_bind_int(st, o + 15, r.status));
  ok(BindText(st, o + 16, r.reason));
  ok(BindText(st, o + 17, r.rule_ids));
  ok(BindText(st, o + 18, r.matches));
  ok(sqlite3_bind_double(st, o + 19, r.risk));  // NaN becomes NULL
  ok(BindText(st, o + 20, r.policy_revision));
  ok(BindText(st, o + 21, r.prompt_sha256));
  ok(sqlite3_bind_int64(st, o + 22, r.latency_us));
  ok(sqlite3_bind_blob(st, o + 23, prev_hash.data(), static_cast<int>(prev_hash.size()),
                       SQLITE_STATIC));
  ok(sqlite3_bind_blob(st, o + 24, hash.data(), static_cast<int>(hash.size()), SQLITE_STATIC));
  return rc;
}

StoredDecision ReadDecisionRow(sqlite3_stmt* st) {
  StoredDecision d;
  AuditRow& r = d.record;
  d.seq = static_cast<uint64_t>(sqlite3_column_int64(st, 0));
  r.id = ColumnText(st, 1);
  r.time_ms = sqlite3_column_int64(st, 2);
  r.request_id = ColumnText(st, 3);
  r.account = ColumnText(st, 4);
  r.key_id = ColumnText(st, 5);
  r.org = ColumnText(st, 6);
  r.client_ip = ColumnText(st, 7);
  r.method = ColumnText(st, 8);
  r.path = ColumnText(st, 9);
  r.operation = ColumnText(st, 10);
  r.model = ColumnText(st, 11);
  r.effect = ColumnText(st, 12);
  r.enforced = sqlite3_column_int(st, 13) != 0;
  r.status = sqlite3_column_int(st, 14);
  r.reason = ColumnText(st, 15);
  r.rule_ids = ColumnText(st, 16);
  r.matches = ColumnText(st, 17);
  r.risk = sqlite3_column_type(st, 18) == SQLITE_NULL ? std::numeric_limits<double>::quiet_NaN()
                                                      : sqlite3_column_double(st, 18);
  r.policy_revision = ColumnText(st, 19);
  r.prompt_sha256 = ColumnText(st, 20);
  r.latency_us = sqlite3_column_int64(st, 21);
  d.prev_hash = ColumnBlob(st, 22);
  d.hash = ColumnBlob(st, 23);
  if (sqlite3_column_count(st) > 25) {  // selected with DecisionColumns
    r.traceparent = ColumnText(st, 24);
    r.tracestate = ColumnText(st, 25);
  }
  if (sqlite3_column_count(st) > 27) {
    r.cost_reserved_nano = sqlite3_column_int64(st, 26);
    r.cost_settled_nano = sqlite3_column_int64(st, 27);
  }
  return d;
}

}  // namespace tosgate::storage
