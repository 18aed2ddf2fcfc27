// Private to storage/: the PostgreSQL audit sink's state, shared by its
// public side (postgres_audit.cc: open, submit, flush, close) and its writer
// (postgres_audit_writer.cc: connection, COPY, retries, resync).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "storage/audit/batch_queue.h"
#include "storage/audit/chain.h"
#include "storage/audit/postgres/sink.h"
#include "storage/audit/postgres/util.h"

namespace tosgate::storage {

struct PostgresAuditSink::Impl {
  using Clock = AuditBatchQueue::Clock;
  using Item = AuditBatchQueue::Item;

  explicit Impl(PostgresAuditOptions o);

  // Writer side (postgres_audit_writer.cc). All use `conn` and the chain
  // state, which only Open (before the thread) and the writer touch.
  Status Connect();  // connect, session settings, advisory lock
  Status ReadChainEnd(uint64_t* seq, std::string* hash);
  Status Resync(bool* already_written);
  Status WriteBatch(const std::vector<Item>& batch);
  Status InsertRows(const std::vector<Item>& batch, const std::vector<std::string>& hashes,
                    Clock::time_point deadline);
  Status CopyIn(const std::string& copy, const std::string& rows, Clock::time_point deadline);
  Status Run(const std::string& sql, const std::vector<const char*>& values,
             Clock::time_point deadline);
  Status RoundTrip(Clock::time_point deadline, const char* what, PgResult* last);
  Status Query(const char* sql, const std::vector<std::string>& params, const char* what,
               PgResult* out);
  void Disconnect();
  // One attempt at `batch`: reconnect and resync if needed, then write it.
  Status Commit(const std::vector<Item>& batch);
  // At Open: the instance's chain against the anchor sink's latest head.
  Status CheckAnchor();
  // Publishes the chain head when anchor_every records passed since the
  // last one (or any record, with `force`: at Close). Failures are counted.
  void PublishAnchor(bool force);

  const PostgresAuditOptions opts;
  std::string description;  // RedactDsn(dsn)

  // Used by Open, then only by the writer thread, then by Close after join.
  PgConn conn;
  uint64_t next_seq = 1;
  std::string prev_hash = AuditGenesisHash();
  bool need_resync = false;     // a commit failed: its outcome must be read back
  uint64_t attempt_end_seq = 0;  // the last failed batch's last seq and hash,
  std::string attempt_end_hash;  // to recognise it committed after all
  std::string buffer, scratch;  // COPY text of the decisions; the chain's scratch
  std::string traces, costs;    // COPY text of tosgate_traces and tosgate_costs rows

  uint64_t published_seq = 0;  // the chain head last published to opts.anchor

  // Written by the writer, read by stats().
  std::atomic<uint64_t> reconnects{0}, anchors{0}, anchor_errors{0};

  // Last: its destructor joins the writer, which uses the members above.
  AuditBatchQueue queue;
};

}  // namespace tosgate::storage
