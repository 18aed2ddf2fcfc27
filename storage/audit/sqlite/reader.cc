#include "storage/audit/reader.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "storage/audit/sqlite/schema.h"
#include "storage/sqlite/util.h"

namespace tosgate::storage {

Result<std::vector<StoredDecision>> ReadDecisions(const std::string& path,
                                                  const DecisionQuery& q) {
  // SQLite would report a missing file only as "unable to open"; say it plainly.
  struct stat st_buf;
  if (::stat(path.c_str(), &st_buf) != 0) {
    const int err = errno;
    if (err == ENOENT) return Status::NotFound(path + ": no such audit store");
    return Status::IoError(path + ": " + std::strerror(err));
  }
  auto db = OpenSqlite(path, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, "cannot open the audit store");
  if (!db.ok()) return db.status();
  sqlite3* raw = db->get();

  std::string sql = "SELECT " + DecisionColumns(raw) + " FROM decisions WHERE seq > ?1";
  if (!q.account.empty()) sql += " AND account = ?2";
  sql += q.newest_first ? " ORDER BY seq DESC" : " ORDER BY seq";
  if (q.limit != 0) sql += " LIMIT " + std::to_string(q.limit);

  sqlite3_stmt* st_raw = nullptr;
  int rc = sqlite3_prepare_v2(raw, sql.c_str(), -1, &st_raw, nullptr);
  SqliteStmt st(st_raw);
  if (rc != SQLITE_OK) {
    // A file that is not a database, or has no decisions table, fails here.
    Status s = SqliteStatus(raw, rc, path, "reading decisions");
    if (s.code() == Status::Code::kInternal)
      return Status::InvalidArgument(path + ": not a tosgate audit store: " +
                                     sqlite3_errmsg(raw));
    return s;
  }
  sqlite3_bind_int64(st.get(), 1, static_cast<sqlite3_int64>(q.after_seq));
  if (!q.account.empty()) BindText(st.get(), 2, q.account);

  std::vector<StoredDecision> out;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) out.push_back(ReadDecisionRow(st.get()));
  if (rc != SQLITE_DONE) return SqliteStatus(raw, rc, path, "reading decisions");
  return out;
}

}  // namespace tosgate::storage
