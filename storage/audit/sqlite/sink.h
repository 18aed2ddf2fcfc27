// SqliteAuditSink: the audit store in one SQLite file (WAL mode).
//
// Submit() puts a record on a bounded in-memory queue; one writer thread
// takes everything queued (up to max_batch) and commits it in one
// transaction, with each row chained to the one before by SHA-256 (see
// storage/audit/chain.h). With Durability::kSync, Submit returns only once
// the record's transaction is committed with synchronous=FULL (concurrent
// submitters share that transaction and its fsync: group commit); with
// kAsync it returns once queued, and a crash loses what was still queued.
// With a signing key the writer also signs an Ed25519 checkpoint every
// checkpoint_every records and at Close (storage/audit/signing.h), and
// publishes the latest one to the anchor sink, if any, once committed. A failed commit (disk full, read-only, locked) is
// counted and the same batch retried with backoff; its records stay in
// memory and keep counting against the queue, so a store that cannot write
// pushes back on Submit instead of losing records. A submitter waiting for
// the commit (kSync, SubmitThen) is answered Unavailable after
// commit_timeout; its record stays queued and is still written when the
// store recovers. A file deleted or moved while open is noticed before the
// next commit and at Close, and the whole store (chain included) is
// written back at its path from the open connection, so what was committed
// into the unlinked file is not lost (docs/hardening.md#fault-injection).
// Nothing is dropped silently: the one way records are given up is Close()
// after close_timeout of failed retries, and then Close() says how many and
// stats().dropped counts them.
//
// Thread-safety: Submit, Flush, Close and stats may be called from any
// thread at once. The destructor closes; it must not race other calls.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "engine/audit_sink.h"
#include "storage/audit/anchor.h"
#include "storage/audit/sink_options.h"
#include "tosgate/status.h"

namespace tosgate::storage {

struct SqliteAuditOptions {
  std::string path;                             // the file; ":memory:" for tests
  size_t queue_capacity = 65536;                // records accepted but not yet committed
  std::chrono::milliseconds queue_wait{50};     // Submit's wait on a full queue
  size_t max_batch = 16384;                     // records per transaction (group commit)
  bool synchronous_full = false;                // PRAGMA synchronous = FULL, else NORMAL
  std::chrono::milliseconds busy_timeout{5000}; // SQLite's wait for a lock held elsewhere
  std::chrono::milliseconds close_timeout{10000};  // Close's retrying before it gives up
  Durability durability = Durability::kAsync;
  std::string signing_key_path{};  // PEM Ed25519 private key; empty: no checkpoints
  uint64_t checkpoint_every = 1000;  // records between signed checkpoints
  bool truncate_client_ip = false;   // store IPv4 as /24, IPv6 as /48
  // A submitter waiting for its record's commit (kSync Submit, SubmitThen)
  // is answered Unavailable after this while commits keep failing; the
  // record stays queued. Checked between retries, so a commit stuck in
  // SQLite's lock wait answers after busy_timeout if that is longer.
  std::chrono::milliseconds commit_timeout{5000};
  // Where each signed checkpoint is also published once committed (the
  // anchor, storage/audit/anchor.h); null: nowhere. Needs signing_key_path.
  // At Open the store is checked against the sink's latest checkpoint, and
  // one that was cut or rewritten behind it is refused; a sink with nothing
  // yet gets the store's latest checkpoint.
  std::shared_ptr<CheckpointSink> anchor{};
  // The writer's group window for records nobody waits on (async): woken
  // for one, it waits up to this long for more before committing, and the
  // records queued meanwhile wake nobody. Adds at most this to async's loss
  // window; a record someone waits for (sync), Flush and Close end it at
  // once. Zero: commit as soon as woken.
  std::chrono::microseconds linger{1000};
};

class SqliteAuditSink final : public engine::AuditSink {
 public:
  // Opens or creates the store at opts.path and starts the writer thread.
  // Does not create directories. A non-OK Status names the path and says
  // why: the directory is missing or not writable, the file is not an
  // SQLite database or not a tosgate audit store, or it stayed locked by
  // another connection for longer than busy_timeout.
  static Result<std::unique_ptr<SqliteAuditSink>> Open(SqliteAuditOptions opts);

  // Closes (see Close), ignoring its Status.
  ~SqliteAuditSink() override;

  SqliteAuditSink(const SqliteAuditSink&) = delete;
  SqliteAuditSink& operator=(const SqliteAuditSink&) = delete;

  // Queues `record`. When queue_capacity records are already waiting, waits
  // up to queue_wait for room and then returns ResourceExhausted (counted in
  // stats().rejected_full). Unavailable after Close. With kSync it then
  // waits until the record is committed (through retries of failed
  // commits), or returns the error with which Close gave it up, or
  // Unavailable after commit_timeout (the record stays queued and is
  // written once a commit succeeds).
  Status Submit(engine::AuditRecord record) override;

  // Queues `record` whatever the durability and returns. `done` runs once:
  // on the writer thread right after the record's transaction committed
  // (OK), or when Close gives the record up (IoError), or after
  // commit_timeout of failed commits (Unavailable; the record stays queued),
  // or at once on the
  // calling thread if the record could not be queued (as Submit).
  void SubmitThen(engine::AuditRecord record, std::function<void(Status)> done) override;

  // Blocks until every record accepted before the call is committed, and
  // returns OK. If a commit fails meanwhile it returns that error at once
  // instead (Unavailable for a lock, IoError for disk full or read-only);
  // the records stay queued and are retried, so calling Flush again later
  // may succeed.
  Status Flush();

  // Stops accepting records, commits everything queued, signs a last
  // checkpoint (with a key, when records came after the last one), stops
  // the writer and closes the file. If commits keep failing for close_timeout the
  // records still unwritten are given up and the Status says how many.
  // Idempotent: later calls return the first call's Status.
  Status Close();

  struct Stats {
    uint64_t submitted = 0;      // records accepted by Submit
    uint64_t written = 0;        // records committed
    uint64_t rejected_full = 0;  // Submit calls refused because the queue stayed full
    uint64_t write_errors = 0;   // failed commit attempts (each is retried)
    uint64_t batches = 0;        // transactions committed
    uint64_t dropped = 0;        // records given up by Close after close_timeout
    uint64_t checkpoints = 0;    // signed checkpoints written
    uint64_t commit_timeouts = 0;  // waiters answered Unavailable after commit_timeout
    uint64_t recreated = 0;      // times the file was found deleted/moved and written back
    uint64_t anchors = 0;        // checkpoints published to the anchor sink
    uint64_t anchor_errors = 0;  // failed publications (retried after the next commit)
    size_t queue_depth = 0;      // accepted, not yet committed (the batch in flight too)
  };
  Stats stats() const;

  const std::string& path() const;

 private:
  struct Impl;
  explicit SqliteAuditSink(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tosgate::storage
