// Private to storage/: the PostgreSQL audit sink's state, shared by its
// public side (postgres_audit.cc: open, submit, flush, close) and its writer
// (postgres_audit_writer.cc: connection, COPY, retries, resync).
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "storage/audit_chain.h"
#include "storage/postgres_audit.h"
#include "storage/postgres_util.h"

namespace tosgate::storage::postgres_audit_internal {

using Clock = std::chrono::steady_clock;

// A queued record and whom to tell when it is committed (may be empty).
struct Item {
  engine::AuditRecord record;
  std::function<void(Status)> done;
  Clock::time_point deadline{};  // commit_timeout for `done`
};

}  // namespace tosgate::storage::postgres_audit_internal

namespace tosgate::storage {

struct PostgresAuditSink::Impl {
  using Clock = postgres_audit_internal::Clock;
  using Item = postgres_audit_internal::Item;

  explicit Impl(PostgresAuditOptions o) : opts(std::move(o)) {}

  // Writer side (postgres_audit_writer.cc). All use `conn` and the chain
  // state, which only Open (before the thread) and the writer touch.
  Status Connect();  // connect, session settings, advisory lock
  Status ReadChainEnd(uint64_t* seq, std::string* hash);
  Status Resync(bool* already_written);
  Status WriteBatch(const std::vector<Item>& batch);
  Status InsertBatch(const std::vector<Item>& batch, const std::vector<std::string>& hashes);
  Status RoundTrip(Clock::time_point deadline, const char* what, PgResult* last);
  Status Query(const char* sql, const std::vector<std::string>& params, const char* what,
               PgResult* out);
  void Disconnect();
  void ExpireWaiters(std::vector<Item>& batch, std::vector<std::function<void(Status)>>* out);
  void Run();

  Status Enqueue(Item& item);
  uint64_t pending() const { return submitted - written - dropped; }

  const PostgresAuditOptions opts;
  std::string description;  // RedactDsn(dsn)

  // Used by Open, then only by the writer thread, then by Close after join.
  PgConn conn;
  uint64_t next_seq = 1;
  std::string prev_hash = AuditGenesisHash();
  bool need_resync = false;     // a commit failed: its outcome must be read back
  uint64_t attempt_end_seq = 0;  // the last failed batch's last seq and hash,
  std::string attempt_end_hash;  // to recognise it committed after all
  std::string buffer, scratch;

  mutable std::mutex mu;
  std::condition_variable work_cv;      // writer: records queued, or closing
  std::condition_variable space_cv;     // Submit: room in the queue, or closing
  std::condition_variable progress_cv;  // Flush: a commit succeeded or failed
  // Guarded by mu.
  std::deque<Item> queue;
  uint64_t submitted = 0, written = 0, dropped = 0;
  uint64_t rejected_full = 0, write_errors = 0, batches = 0;
  uint64_t commit_timeouts = 0, reconnects = 0;
  Status last_error;
  bool writer_idle = false;
  int space_waiters = 0, flush_waiters = 0;
  bool closing = false, writer_done = false;
  Clock::time_point close_deadline;

  std::thread writer;

  std::mutex close_mu;  // serializes Close; guards the two below
  bool closed = false;
  Status close_status;
};

}  // namespace tosgate::storage
