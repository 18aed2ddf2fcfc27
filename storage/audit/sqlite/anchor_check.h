// Private to storage/: an SQLite audit store compared with an anchor
// (storage/audit/anchor.h) by a few point lookups. Used by the sink when it
// opens (a gateway must not continue a chain that was cut or rewritten
// behind its anchor: it would then sign over the cut) and by
// VerifyAuditStore once its walk has checked every hash. Also reads the
// store's latest checkpoint, for `audit export-anchor` and for a sink that
// has no anchor yet.
#pragma once

#include <sqlite3.h>

#include <optional>
#include <string>
#include <string_view>

#include "storage/audit/anchor.h"
#include "tosgate/status.h"

namespace tosgate::storage {

// "" when the store holds the anchored record with the anchored hash and
// the anchored checkpoint (for a signed anchor); else what is wrong, as one
// sentence naming the seq. A non-OK Status: the store could not be read.
Result<std::string> AnchorProblem(sqlite3* db, std::string_view path, const AuditCheckpoint& a);

// The store's latest checkpoint (nullopt: none), with its record's hash
// checked against the checkpoint's: a checkpoint whose record is missing or
// different is an error, never exported as an anchor.
Result<std::optional<AuditCheckpoint>> LatestCheckpoint(sqlite3* db, std::string_view path);

}  // namespace tosgate::storage
