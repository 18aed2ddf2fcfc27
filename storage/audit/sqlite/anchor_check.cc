#include "storage/audit/sqlite/anchor_check.h"

#include "storage/audit/sqlite/schema.h"
#include "storage/sqlite/util.h"

namespace tosgate::storage {
namespace {

// The hash of the record at `seq`, nullopt if there is none.
Result<std::optional<std::string>> RecordHash(sqlite3* db, std::string_view path, uint64_t seq) {
  auto st = Prepare(db, "SELECT hash FROM decisions WHERE seq = ?1", path);
  if (!st.ok()) return st.status();
  sqlite3_bind_int64(st->get(), 1, static_cast<sqlite3_int64>(seq));
  const int rc = sqlite3_step(st->get());
  if (rc == SQLITE_ROW) return std::optional<std::string>(ColumnBlob(st->get(), 0));
  if (rc != SQLITE_DONE) return SqliteStatus(db, rc, path, "reading a decision");
  return std::optional<std::string>();
}

Result<uint64_t> LastSeq(sqlite3* db, std::string_view path) {
  auto st = Prepare(db, "SELECT coalesce(max(seq), 0) FROM decisions", path);
  if (!st.ok()) return st.status();
  const int rc = sqlite3_step(st->get());
  if (rc != SQLITE_ROW) return SqliteStatus(db, rc, path, "reading the last decision");
  return static_cast<uint64_t>(sqlite3_column_int64(st->get(), 0));
}

}  // namespace

Result<std::string> AnchorProblem(sqlite3* db, std::string_view path, const AuditCheckpoint& a) {
  const std::string at = "seq " + std::to_string(a.seq);
  if (a.store != "sqlite") {
    return "the anchor is of instance '" + a.instance +
           "' of a PostgreSQL store, not of an SQLite store";
  }
  auto pruned = ReadAuditAnchor(db, path);
  if (!pruned.ok()) return pruned.status();
  if (*pruned && a.seq <= (*pruned)->seq) {
    // Pruned away: only the prune anchor's own hash is left to compare.
    if (a.seq == (*pruned)->seq && (*pruned)->hash != a.hash) {
      return "the prune anchor at " + at +
             " has a different hash than the anchor: the records up to it were rewritten";
    }
    return std::string();
  }
  auto hash = RecordHash(db, path, a.seq);
  if (!hash.ok()) return hash.status();
  if (!*hash) {
    auto last = LastSeq(db, path);
    if (!last.ok()) return last.status();
    if (*last < a.seq) {
      return "the store ends at seq " + std::to_string(*last) +
             ", before the anchored checkpoint at " + at +
             ": records at the end were deleted (or the store was replaced)";
    }
    return at + ", which the anchor names, is missing: deleted";
  }
  if (**hash != a.hash) {
    return at +
           " does not have the anchored hash: the records up to it were rewritten (and the "
           "chain recomputed)";
  }
  if (a.signature.empty()) return std::string();
  auto has = HasTable(db, path, "checkpoints");
  if (!has.ok()) return has.status();
  if (!*has)
    return "the anchored checkpoint at " + at + " is not in the store: no checkpoints table";
  auto st = Prepare(db, "SELECT hash, signature FROM checkpoints WHERE seq = ?1", path);
  if (!st.ok()) return st.status();
  sqlite3_bind_int64(st->get(), 1, static_cast<sqlite3_int64>(a.seq));
  const int rc = sqlite3_step(st->get());
  if (rc == SQLITE_DONE)
    return "the anchored checkpoint at " + at + " is not in the store: checkpoints were deleted";
  if (rc != SQLITE_ROW) return SqliteStatus(db, rc, path, "reading a checkpoint");
  if (ColumnBlob(st->get(), 0) != a.hash || ColumnBlob(st->get(), 1) != a.signature) {
    return "the checkpoint at " + at +
           " differs from the anchored one (hash or signature): it was replaced";
  }
  return std::string();
}

Result<std::optional<AuditCheckpoint>> LatestCheckpoint(sqlite3* db, std::string_view path) {
  auto has = HasTable(db, path, "checkpoints");
  if (!has.ok()) return has.status();
  if (!*has) return std::optional<AuditCheckpoint>();
  auto st = Prepare(db,
                    "SELECT seq, hash, signature, key_id, signed_at_ms FROM checkpoints "
                    "ORDER BY seq DESC LIMIT 1",
                    path);
  if (!st.ok()) return st.status();
  const int rc = sqlite3_step(st->get());
  if (rc == SQLITE_DONE) return std::optional<AuditCheckpoint>();
  if (rc != SQLITE_ROW) return SqliteStatus(db, rc, path, "reading the latest checkpoint");
  AuditCheckpoint cp;
  cp.seq = static_cast<uint64_t>(sqlite3_column_int64(st->get(), 0));
  cp.hash = ColumnBlob(st->get(), 1);
  cp.signature = ColumnBlob(st->get(), 2);
  cp.key_id = ColumnText(st->get(), 3);
  cp.signed_at_ms = sqlite3_column_int64(st->get(), 4);
  st->reset();
  auto hash = RecordHash(db, path, cp.seq);
  if (!hash.ok()) return hash.status();
  if (!*hash || **hash != cp.hash) {
    return Status::InvalidArgument(std::string(path) + ": the latest checkpoint (seq " +
                                   std::to_string(cp.seq) +
                                   ") does not match the record there; run `tosgate audit verify`");
  }
  return std::optional<AuditCheckpoint>(std::move(cp));
}

}  // namespace tosgate::storage
