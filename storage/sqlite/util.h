// Small private helpers around the SQLite C API for storage/: owning
// handles, and turning a result code into a Status that names the file.
// Not installed; nothing outside storage/ includes this.
#pragma once

#include <sqlite3.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "tosgate/status.h"

namespace tosgate::storage {

struct SqliteCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct SqliteFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using SqliteDb = std::unique_ptr<sqlite3, SqliteCloser>;
using SqliteStmt = std::unique_ptr<sqlite3_stmt, SqliteFinalizer>;

// "<path>: <what>: <sqlite message> [(<OS error>)]" with a code chosen from
// the SQLite result: busy/locked -> Unavailable; full, I/O, read-only,
// cannot-open -> IoError; not a database / corrupt -> InvalidArgument;
// anything else -> Internal.
Status SqliteStatus(sqlite3* db, int rc, std::string_view path, std::string_view what);

// Opens `path` with `flags` (SQLITE_OPEN_*) and a 5 s busy timeout; a
// failure names the file and `what` ("opening the review queue").
Result<SqliteDb> OpenSqlite(const std::string& path, int flags, std::string_view what);

// How a store that this process writes opens its file: OpenWritableWal.
struct WritableOpen {
  int flags = 0;                         // SQLITE_OPEN_*
  std::chrono::milliseconds busy_timeout{5000};
  std::string_view store;                // "the audit store": in "<path>: <store> is not writable"
  std::string_view cannot_open;          // the error when the file cannot be opened
};

// The open sequence of a store this process writes: opens `path` into *db,
// refuses a file SQLite would open read-only (every commit would fail),
// turns on extended result codes and the busy timeout, and switches to WAL
// (":memory:" keeps "memory"). The WAL pragma is the first statement, the
// one that reads the file header, so "not a database" shows here.
Status OpenWritableWal(const std::string& path, const WritableOpen& how, SqliteDb* db);

// Runs one or more statements that return no rows.
Status Exec(sqlite3* db, const char* sql, std::string_view path);

// Prepares one statement meant to be kept and reused. `what` describes it
// in the error.
Result<SqliteStmt> Prepare(sqlite3* db, std::string_view sql, std::string_view path,
                           std::string_view what = "preparing a statement");

// Binds `s` without copying; the caller keeps it alive until the step.
inline int BindText(sqlite3_stmt* st, int index, std::string_view s) {
  return sqlite3_bind_text(st, index, s.data(), static_cast<int>(s.size()), SQLITE_STATIC);
}
inline std::string ColumnText(sqlite3_stmt* st, int index) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, index));
  return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(st, index))) : std::string();
}
inline std::string ColumnBlob(sqlite3_stmt* st, int index) {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(st, index));
  return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(st, index))) : std::string();
}

}  // namespace tosgate::storage
