// The audit store's SQL schema and the mapping between a `decisions` row and
// an AuditRecord, shared by the writer and the reader. Private to storage/.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/hex.h"
#include "storage/audit/reader.h"
#include "storage/audit/row.h"
#include "tosgate/status.h"

namespace tosgate::storage {

// PRAGMA user_version of a store this code writes. Bump on any change of
// the tables or of the chain encoding, together with a migration.
inline constexpr int kAuditSchemaVersion = 1;

// Creates the tables in an empty database, or checks that an existing one
// is a tosgate audit store of a version this code understands.
Status EnsureAuditSchema(sqlite3* db, std::string_view path);

// INSERT with 24 parameters in the order of BindDecision.
extern const char kInsertDecisionSql[];
// The column list ReadDecisionRow expects, for SELECT.
extern const char kDecisionColumns[];

// The same INSERT for `rows` rows in one statement (rows >= 1): row k
// (from 0) takes parameters 24k+1 .. 24k+24. One statement per group of
// rows saves SQLite's per-statement work (step, halt, reset) on all but one.
std::string InsertDecisionsSql(int rows);
inline constexpr int kDecisionParams = 24;

// Binds everything for kInsertDecisionSql; `first` is the number of the
// first parameter (24k+1 for row k of InsertDecisionsSql). Strings are
// bound without copying: `record`, `prev_hash` and `hash` must outlive the
// step.
int BindDecision(sqlite3_stmt* st, uint64_t seq, const AuditRow& record,
                 std::string_view prev_hash, std::string_view hash, int first = 1);

// Where the chain starts after `tosgate audit prune`: the last pruned
// record's seq and hash, kept in the meta table (anchor_seq, anchor_hash as
// hex). No anchor: the chain starts at seq 1 after 32 zero bytes.
struct AuditAnchor {
  uint64_t seq = 0;
  std::string hash;  // 32 raw bytes
};
Result<std::optional<AuditAnchor>> ReadAuditAnchor(sqlite3* db, std::string_view path);
// Inside the caller's transaction.
Status WriteAuditAnchor(sqlite3* db, std::string_view path, const AuditAnchor& anchor);

// Whether the database has a table called `name`.
Result<bool> HasTable(sqlite3* db, std::string_view path, const char* name);

// The hex codec is engine/hex.h; named here too for the SQLite code.
using engine::FromHex;
using engine::ToHex;

// INSERT into the traces table (seq, traceparent, tracestate): a record's
// W3C trace context, in the transaction of the record, when it has one.
extern const char kInsertTraceSql[];
// INSERT into the costs table (seq, reserved, settled), likewise.
extern const char kInsertCostSql[];

// kDecisionColumns then the record's traceparent and tracestate from the
// traces table ('' without; '' for all in a store written before the table
// existed and not opened by a writer since), for SELECT ... FROM decisions.
std::string DecisionColumns(sqlite3* db);

// Reads a row selected with DecisionColumns (or kDecisionColumns: the trace
// context is then empty).
StoredDecision ReadDecisionRow(sqlite3_stmt* st);

}  // namespace tosgate::storage
