#include "storage/audit/sqlite/lookup.h"

#include <sys/stat.h>

#include "storage/audit/sqlite/schema.h"
#include "storage/sqlite/util.h"

namespace tosgate::storage {

Result<StoredDecision> FindDecision(const std::string& path, std::string_view id) {
  struct stat st_buf;
  if (::stat(path.c_str(), &st_buf) != 0) return Status::NotFound(path + ": no such audit store");
  auto db = OpenSqlite(path, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, "cannot open the audit store");
  if (!db.ok()) return db.status();
  sqlite3* raw = db->get();

  auto st = Prepare(raw, "SELECT " + DecisionColumns(raw) + " FROM decisions WHERE id = ? LIMIT 1",
                    path, "finding a decision");
  if (!st.ok()) return st.status();
  BindText(st->get(), 1, id);
  const int rc = sqlite3_step(st->get());
  if (rc == SQLITE_DONE) return Status::NotFound("no decision with id " + std::string(id));
  if (rc != SQLITE_ROW) return SqliteStatus(raw, rc, path, "finding a decision");
  return ReadDecisionRow(st->get());
}

}  // namespace tosgate::storage
