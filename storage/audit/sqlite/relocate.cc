#include "storage/audit/sqlite/relocate.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

#include "storage/sqlite/util.h"

namespace tosgate::storage {
namespace {

void SyncPath(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

}  // namespace

Status RewriteIfMoved(sqlite3* db, const std::string& path, bool* rewritten) {
  *rewritten = false;
  if (path == ":memory:" || path.empty()) return Status::Ok();
  int moved = 0;
  // One stat() of the path against the open file's inode.
  if (sqlite3_file_control(db, "main", SQLITE_FCNTL_HAS_MOVED, &moved) != SQLITE_OK || !moved)
    return Status::Ok();
  const std::string what =
      "the audit store file was deleted or moved while open; writing it back failed";
  std::error_code ec;
  if (std::filesystem::exists(path, ec) || ec) {
    return Status::IoError(path + ": " + what + ": another file is at that path now (" +
                           (ec ? ec.message() : std::string("left alone")) +
                           "); the records stay in memory and are retried");
  }
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, "VACUUM INTO ?1", -1, &raw, nullptr);
  SqliteStmt st(raw);
  if (rc == SQLITE_OK) rc = BindText(raw, 1, path);
  if (rc == SQLITE_OK) rc = sqlite3_step(raw);
  if (rc != SQLITE_DONE) {
    Status s = SqliteStatus(db, rc, path, what);
    st.reset();
    // Our partial copy (the path was free before): leave no half store.
    ::unlink(path.c_str());
    ::unlink((path + "-journal").c_str());
    return Status::IoError(s.message() + "; the records stay in memory and are retried");
  }
  SyncPath(path);
  SyncPath(std::filesystem::path(path).parent_path().empty()
               ? "."
               : std::filesystem::path(path).parent_path().string());
  *rewritten = true;
  return Status::Ok();
}

}  // namespace tosgate::storage
