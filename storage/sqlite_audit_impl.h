// Private to storage/: the SQLite audit sink's state, shared by its public
// side (sqlite_audit.cc: open, submit, flush, close) and its writer thread
// (sqlite_audit_writer.cc: group commit, retries, checkpoints, faults).
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "storage/audit_chain.h"
#include "storage/audit_signing.h"
#include "storage/audit_wal_checkpointer.h"
#include "storage/sqlite_audit.h"
#include "storage/sqlite_util.h"

namespace tosgate::storage::sqlite_audit_internal {

using Clock = std::chrono::steady_clock;

// `s` with its code kept and `prefix` put before its message.
inline Status Prefixed(const Status& s, const std::string& prefix) {
  std::string m = prefix + s.message();
  switch (s.code()) {
    case Status::Code::kUnavailable: return Status::Unavailable(std::move(m));
    case Status::Code::kIoError: return Status::IoError(std::move(m));
    case Status::Code::kInvalidArgument: return Status::InvalidArgument(std::move(m));
    case Status::Code::kResourceExhausted: return Status::ResourceExhausted(std::move(m));
    default: return Status::Internal(std::move(m));
  }
}

// A queued record and whom to tell when it is committed (may be empty).
struct Item {
  engine::AuditRecord record;
  std::function<void(Status)> done;
  Clock::time_point deadline{};  // commit_timeout for `done`
};

}  // namespace tosgate::storage::sqlite_audit_internal

namespace tosgate::storage {

using sqlite_audit_internal::Clock;
using sqlite_audit_internal::Item;
using sqlite_audit_internal::Prefixed;

struct SqliteAuditSink::Impl {
  explicit Impl(SqliteAuditOptions o) : opts(std::move(o)) {}

  Status OpenDb();
  void CloseDb();
  Status BeforeWrite();
  void ExpireWaiters(std::vector<Item>& batch, std::vector<std::function<void(Status)>>* out);
  void Run();
  Status WriteBatch(const std::vector<Item>& batch);
  Status InsertCheckpoint(uint64_t seq, const std::string& hash);
  void FinalCheckpoint();
  Status Enqueue(Item& item);
  uint64_t pending() const { return submitted - written - dropped; }

  const SqliteAuditOptions opts;

  // Used by Open, then only by the writer thread, then by Close after join.
  SqliteDb db;
  SqliteStmt begin, commit, rollback, insert, insert_checkpoint;
  std::optional<AuditKey> key;
  uint64_t last_checkpoint_seq = 0;
  uint64_t next_seq = 1;
  std::string prev_hash = AuditGenesisHash();
  std::string scratch;

  mutable std::mutex mu;
  std::condition_variable work_cv;      // writer: records queued, or closing
  std::condition_variable space_cv;     // Submit: room in the queue, or closing
  std::condition_variable progress_cv;  // Flush: a commit succeeded or failed
  // Guarded by mu.
  std::deque<Item> queue;
  uint64_t submitted = 0, written = 0, dropped = 0, checkpoints = 0;
  uint64_t rejected_full = 0, write_errors = 0, batches = 0;
  uint64_t commit_timeouts = 0, recreated = 0;
  Status last_error;
  bool writer_idle = false;
  int space_waiters = 0, flush_waiters = 0;
  bool closing = false, writer_done = false;
  Clock::time_point close_deadline;

  std::thread writer;

  std::unique_ptr<WalCheckpointer> checkpointer;  // null: SQLite checkpoints on commit
  bool db_open = false;  // writer thread: false after a failed reopen

  std::mutex close_mu;  // serializes Close; guards the two below
  bool closed = false;
  Status close_status;
};

}  // namespace tosgate::storage
