// Private to storage/: the SQLite audit sink's state, shared by its public
// side (sqlite_audit.cc: open, submit, flush, close) and its writer thread
// (sqlite_audit_writer.cc: group commit, retries, checkpoints, faults).
#pragma once

#include <atomic>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "storage/audit/batch_queue.h"
#include "storage/audit/chain.h"
#include "storage/audit/signing.h"
#include "storage/audit/sqlite/wal_checkpointer.h"
#include "storage/audit/sqlite/sink.h"
#include "storage/sqlite/util.h"

namespace tosgate::storage {

inline constexpr size_t kInsertGroupRows = 32;
// Smaller groups for what is left of a batch, and for the small batches a
// gateway's steady rate makes (a dozen records per commit in the 1 ms
// window): a statement per row cost ~5k instructions more per record.
inline constexpr size_t kInsertSmallGroupRows[] = {8, 4};

struct SqliteAuditSink::Impl {
  using Item = AuditBatchQueue::Item;

  explicit Impl(SqliteAuditOptions o);

  Status OpenDb();
  void CloseDb();
  Status BeforeWrite();
  Status WriteBatch(const std::vector<Item>& batch);
  int InsertRows(const std::vector<Item>& batch, size_t i, size_t rows, uint64_t seq,
                 std::string* hashes);
  // Signs and inserts a checkpoint in the open transaction; `out` gets it.
  Status InsertCheckpoint(uint64_t seq, const std::string& hash, AuditCheckpoint* out);
  void FinalCheckpoint();
  // Checks the store against the anchor sink's latest checkpoint (at Open).
  Status CheckAnchor();
  // Publishes `newest_checkpoint` unless already published; a failure is
  // counted and retried after the next commit.
  void PublishAnchor();
  void Drained();  // at Close, once everything queued is written

  const SqliteAuditOptions opts;

  // Used by Open, then only by the writer thread, then by Close after join.
  SqliteDb db;
  SqliteStmt begin, commit, rollback, insert, insert_checkpoint, insert_trace,
      insert_cost;
  // kInsertGroupRows rows per statement (null if SQLite refused to prepare
  // it: then one row per statement). 32 rows took a fifth off SQLite's
  // instructions per record (docs/benchmarks.md).
  SqliteStmt insert_group;
  // kInsertSmallGroupRows[i] rows per statement (null when refused).
  SqliteStmt insert_small_group[std::size(kInsertSmallGroupRows)];
  // The largest group that fits `left` rows, and its statement.
  size_t GroupRows(size_t left) const;
  sqlite3_stmt* GroupStatement(size_t rows) const;
  std::optional<AuditKey> key;
  uint64_t last_checkpoint_seq = 0;
  std::optional<AuditCheckpoint> newest_checkpoint;  // committed; published yet?
  uint64_t published_seq = 0;
  uint64_t next_seq = 1;
  std::string prev_hash = AuditGenesisHash();
  std::string scratch;

  std::unique_ptr<WalCheckpointer> checkpointer;  // null: SQLite checkpoints on commit
  bool db_open = false;  // writer thread: false after a failed reopen

  // Written by the writer, read by stats().
  std::atomic<uint64_t> checkpoints{0}, recreated{0}, anchors{0}, anchor_errors{0};

  // Last: its destructor joins the writer, which uses the members above.
  AuditBatchQueue queue;
};

}  // namespace tosgate::storage
