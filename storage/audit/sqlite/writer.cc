// The SQLite audit sink's writer side: commits a batch in one transaction
// (group commit; the queue, retries and waiters are storage/
// audit_batch_queue.h's), writes back a store file deleted under it, and
// signs checkpoints. See storage/audit/sqlite/sink.h for the contract.
#include <algorithm>
#include <optional>
#include <utility>

#include "storage/audit/sqlite/relocate.h"
#include "storage/audit/sqlite/schema.h"
#include "storage/audit/sqlite/sink_impl.h"

namespace tosgate::storage {
namespace {

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

// Commits `batch` in one transaction, continuing the chain; on any error
// rolls back and leaves the chain state as it was, so the batch can be
// retried as is.
Status SqliteAuditSink::Impl::InsertCheckpoint(uint64_t seq, const std::string& hash,
                                               AuditCheckpoint* out) {
  auto sig = key->Sign(seq, hash);
  if (!sig.ok()) return Prefixed(sig.status(), opts.path + ": ");
  const int64_t now = WallMs();
  sqlite3_stmt* st = insert_checkpoint.get();
  sqlite3_bind_int64(st, 1, static_cast<sqlite3_int64>(seq));
  sqlite3_bind_blob(st, 2, hash.data(), static_cast<int>(hash.size()), SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, now);
  sqlite3_bind_blob(st, 4, sig->data(), static_cast<int>(sig->size()), SQLITE_STATIC);
  BindText(st, 5, key->key_id());
  const int rc = sqlite3_step(st);
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) return SqliteStatus(db.get(), rc, opts.path, "writing a checkpoint");
  *out = AuditCheckpoint{};
  out->seq = seq;
  out->hash = hash;
  out->signature = std::move(sig).value();
  out->key_id = key->key_id();
  out->signed_at_ms = now;
  return Status::Ok();
}

void SqliteAuditSink::Impl::PublishAnchor() {
  if (!opts.anchor || !newest_checkpoint || newest_checkpoint->seq == published_seq) return;
  if (opts.anchor->Publish(*newest_checkpoint).ok()) {
    published_seq = newest_checkpoint->seq;
    ++anchors;
  } else {
    ++anchor_errors;
  }
}

// At Close: signs the last record unless a checkpoint already covers it.
// Best effort; a failure is kept in last_error.
void SqliteAuditSink::Impl::FinalCheckpoint() {
  const uint64_t last = next_seq - 1;
  if (!key || last == 0 || last <= last_checkpoint_seq) return;
  AuditCheckpoint cp;
  Status s = Exec(db.get(), "BEGIN IMMEDIATE", opts.path);
  if (s.ok()) s = InsertCheckpoint(last, prev_hash, &cp);
  if (s.ok()) s = Exec(db.get(), "COMMIT", opts.path);
  if (s.ok()) {
    last_checkpoint_seq = last;
    ++checkpoints;
    newest_checkpoint = std::move(cp);
  } else {
    if (!sqlite3_get_autocommit(db.get())) sqlite3_exec(db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    queue.SetLastError(s);
  }
}

size_t SqliteAuditSink::Impl::GroupRows(size_t left) const {
  if (insert_group && left >= kInsertGroupRows) return kInsertGroupRows;
  for (size_t g = 0; g < std::size(kInsertSmallGroupRows); ++g)
    if (insert_small_group[g] && left >= kInsertSmallGroupRows[g]) return kInsertSmallGroupRows[g];
  return 1;
}

sqlite3_stmt* SqliteAuditSink::Impl::GroupStatement(size_t rows) const {
  if (rows == kInsertGroupRows) return insert_group.get();
  for (size_t g = 0; g < std::size(kInsertSmallGroupRows); ++g)
    if (rows == kInsertSmallGroupRows[g]) return insert_small_group[g].get();
  return insert.get();
}

// Inserts batch[i, i + rows) at `seq` on, chained after hashes[0], in one
// statement (`rows` is one GroupRows gave); hashes[k + 1] gets row k's
// hash. The hashes are bound without copying, so they live in `hashes`
// until the statement has run.
int SqliteAuditSink::Impl::InsertRows(const std::vector<Item>& batch, size_t i, size_t rows,
                                      uint64_t seq, std::string* hashes) {
  sqlite3_stmt* st = GroupStatement(rows);
  int rc = SQLITE_OK;
  for (size_t k = 0; k < rows && rc == SQLITE_OK; ++k) {
    const AuditRow& r = batch[i + k].record;
    hashes[k + 1] = AuditChainHash(hashes[k], seq + k, r, &scratch);
    rc = BindDecision(st, seq + k, r, hashes[k], hashes[k + 1],
                      static_cast<int>(k) * kDecisionParams + 1);
  }
  if (rc == SQLITE_OK) rc = sqlite3_step(st);
  sqlite3_reset(st);
  // The W3C trace context of the rows that carry one (storage/audit/row.h).
  for (size_t k = 0; k < rows && rc == SQLITE_DONE; ++k) {
    const AuditRow& r = batch[i + k].record;
    if (r.traceparent.empty() && r.tracestate.empty()) continue;
    sqlite3_stmt* t = insert_trace.get();
    sqlite3_bind_int64(t, 1, static_cast<sqlite3_int64>(seq + k));
    BindText(t, 2, r.traceparent);
    BindText(t, 3, r.tracestate);
    rc = sqlite3_step(t);
    sqlite3_reset(t);
  }
  for (size_t k = 0; k < rows && rc == SQLITE_DONE; ++k) {
    const AuditRow& r = batch[i + k].record;
    if (r.cost_reserved_nano < 0 && r.cost_settled_nano < 0) continue;
    sqlite3_stmt* t = insert_cost.get();
    sqlite3_bind_int64(t, 1, static_cast<sqlite3_int64>(seq + k));
    sqlite3_bind_int64(t, 2, r.cost_reserved_nano);
    sqlite3_bind_int64(t, 3, r.cost_settled_nano);
    rc = sqlite3_step(t);
    sqlite3_reset(t);
  }
  return rc;
}

Status SqliteAuditSink::Impl::WriteBatch(const std::vector<Item>& batch) {
  sqlite3* raw = db.get();
  auto rollback_open = [&] {
    if (!sqlite3_get_autocommit(raw)) {
      sqlite3_step(rollback.get());
      sqlite3_reset(rollback.get());
    }
  };
  auto fail = [&](int rc, const char* what) {
    Status s = SqliteStatus(raw, rc, opts.path, what);
    rollback_open();
    return s;
  };
  int rc = sqlite3_step(begin.get());
  sqlite3_reset(begin.get());
  if (rc != SQLITE_DONE) return fail(rc, "starting a transaction");

  uint64_t seq = next_seq;
  // hashes[0] is the hash the next row chains to; see InsertRows.
  std::string hashes[kInsertGroupRows + 1];
  hashes[0] = prev_hash;
  uint64_t signed_seq = last_checkpoint_seq, signed_now = 0;
  std::optional<AuditCheckpoint> newest;
  for (size_t i = 0; i < batch.size();) {
    const size_t rows = GroupRows(batch.size() - i);
    rc = InsertRows(batch, i, rows, seq, hashes);
    if (rc != SQLITE_DONE) return fail(rc, "inserting a decision");
    for (size_t k = 0; k < rows; ++k) {
      const uint64_t s = seq + k;
      if (!key || s % opts.checkpoint_every != 0) continue;
      if (Status st = InsertCheckpoint(s, hashes[k + 1], &newest.emplace()); !st.ok()) {
        rollback_open();
        return st;
      }
      signed_seq = s;
      ++signed_now;
    }
    hashes[0] = std::move(hashes[rows]);
    seq += rows;
    i += rows;
  }
  rc = sqlite3_step(commit.get());
  sqlite3_reset(commit.get());
  if (rc != SQLITE_DONE) return fail(rc, "committing");
  next_seq = seq;
  prev_hash = std::move(hashes[0]);
  last_checkpoint_seq = signed_seq;
  checkpoints += signed_now;
  if (newest) newest_checkpoint = std::move(newest);
  // Only now, after the commit: an anchor must never name a record that a
  // crash could still take back.
  PublishAnchor();
  return Status::Ok();
}

void SqliteAuditSink::Impl::CloseDb() {
  checkpointer.reset();  // before the writer's connection, which must close last
  insert.reset();
  insert_group.reset();
  for (auto& st : insert_small_group) st.reset();
  insert_trace.reset();
  insert_cost.reset();
  begin.reset();
  commit.reset();
  rollback.reset();
  insert_checkpoint.reset();
  db.reset();  // the last connection checkpoints the WAL into the file
  db_open = false;
}

// Before each commit: a file deleted or moved under us is written back at
// its path and the writer continues there (storage/audit/sqlite/relocate.h); a
// reopen that failed earlier is tried again.
Status SqliteAuditSink::Impl::BeforeWrite() {
  if (db_open) {
    bool rewritten = false;
    if (Status s = RewriteIfMoved(db.get(), opts.path, &rewritten); !s.ok() || !rewritten)
      return s;
    CloseDb();
    ++recreated;
  }
  // The file reopened must continue our chain: never start one afresh in a
  // file that appeared in its place meanwhile.
  const uint64_t seq = next_seq;
  const std::string hash = prev_hash;
  Status s = OpenDb();
  if (s.ok() && (next_seq != seq || prev_hash != hash)) {
    s = Status::IoError(opts.path + ": the file at this path is no longer the audit store "
                        "being written (its chain ends elsewhere); records stay in memory");
    next_seq = seq;
    prev_hash = hash;
  }
  if (!s.ok()) {
    CloseDb();
    return s;
  }
  db_open = true;
  const bool full = opts.synchronous_full || opts.durability == Durability::kSync;
  checkpointer = WalCheckpointer::Start(db.get(), opts.path, full);
  return Status::Ok();
}

// At Close, once everything queued is written: a file deleted since the
// last commit still gets written back, and the last checkpoint is signed.
void SqliteAuditSink::Impl::Drained() {
  if (Status s = BeforeWrite(); !s.ok()) queue.SetLastError(s);
  if (db_open) FinalCheckpoint();
  PublishAnchor();
}

}  // namespace tosgate::storage
