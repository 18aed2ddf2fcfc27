#include "storage/sqlite/util.h"

#include <cstring>

namespace tosgate::storage {

Status SqliteStatus(sqlite3* db, int rc, std::string_view path, std::string_view what) {
  std::string m(path);
  m += ": ";
  m += what;
  m += ": ";
  // sqlite3_errmsg describes the most recent call on `db`; fall back to the
  // generic text for `rc` when there is no handle (open failed early).
  m += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  if (db) {
    // The OS error explains a failed open or I/O; for other codes it may be
    // left over from an earlier call, so it is not shown.
    const int primary = rc & 0xff;
    int err = sqlite3_system_errno(db);
    if (err != 0 && (primary == SQLITE_CANTOPEN || primary == SQLITE_IOERR)) {
      m += " (";
      m += std::strerror(err);
      m += ")";
    }
  }
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Unavailable(std::move(m));
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
      return Status::IoError(std::move(m));
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return Status::InvalidArgument(std::move(m));
    default:
      return Status::Internal(std::move(m));
  }
}

Status Exec(sqlite3* db, const char* sql, std::string_view path) {
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqliteStatus(db, rc, path, sql);
  return Status::Ok();
}

Result<SqliteStmt> Prepare(sqlite3* db, std::string_view sql, std::string_view path,
                           std::string_view what) {
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &st, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(st);
    return SqliteStatus(db, rc, path, what);
  }
  return SqliteStmt(st);
}

Result<SqliteDb> OpenSqlite(const std::string& path, int flags, std::string_view what) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  SqliteDb db(raw);
  if (rc != SQLITE_OK) return SqliteStatus(raw, rc, path, what);
  sqlite3_busy_timeout(raw, 5000);
  return db;
}

Status OpenWritableWal(const std::string& path, const WritableOpen& how, SqliteDb* db) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, how.flags, nullptr);
  db->reset(raw);
  if (rc != SQLITE_OK) return SqliteStatus(raw, rc, path, how.cannot_open);
  if (sqlite3_db_readonly(raw, "main") == 1)
    return Status::IoError(path + ": " + std::string(how.store) + " is not writable (file permissions)");
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, static_cast<int>(how.busy_timeout.count()));

  auto mode = Prepare(raw, "PRAGMA journal_mode=WAL", path, "reading the file");
  if (!mode.ok()) return mode.status();
  rc = sqlite3_step(mode->get());
  if (rc != SQLITE_ROW) return SqliteStatus(raw, rc, path, "setting WAL mode");
  const std::string got = ColumnText(mode->get(), 0);
  mode->reset();
  if (got != "wal" && !(got == "memory" && path == ":memory:"))
    return Status::IoError(path + ": cannot use WAL journal mode (SQLite chose '" + got + "')");
  return Status::Ok();
}

}  // namespace tosgate::storage
