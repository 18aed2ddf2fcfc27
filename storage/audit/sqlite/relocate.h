// The audit store's file deleted or moved while the writer has it open.
// SQLite keeps committing into the unlinked file without a word, and all of
// it would be gone once the process exits. The writer asks before each
// commit; when the path no longer names its file, the whole store (chain,
// checkpoints, anchors) is written back at the path from the open
// connection, which can still read everything, and the writer continues on
// that copy. Private to storage/ (sqlite_audit.cc).
#pragma once

#include <sqlite3.h>

#include <string>

#include "tosgate/status.h"

namespace tosgate::storage {

// Sets *rewritten to false and returns OK when `path` still names the file
// `db` has open (or is ":memory:"). Otherwise writes a copy of the database
// to `path` (VACUUM INTO, then fsync of the file and its directory) and sets
// *rewritten: the caller must then close `db` and open `path` afresh. An
// IoError when the copy cannot be written (the directory is gone too,
// another file took the path, the disk is full); nothing is changed then,
// and asking again later may succeed.
Status RewriteIfMoved(sqlite3* db, const std::string& path, bool* rewritten);

}  // namespace tosgate::storage
