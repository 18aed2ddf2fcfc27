// PostgresAuditSink: the audit trail of a fleet of gateways in one
// PostgreSQL database (docs/scaling.md, "Fleet audit on PostgreSQL"; the
// schema is storage/audit/postgres/schema.h).
//
// The contract is SqliteAuditSink's (storage/audit/sqlite/sink.h): Submit puts a
// record on a bounded queue; one writer thread sends everything queued (up
// to max_batch) as one COPY, which is one transaction (group commit). Each
// gateway writes under its own `instance` id and continues that instance's
// hash chain (storage/audit/chain.h), seq 1..n, so every instance's rows
// verify on their own. Two live sinks with the same instance are refused:
// the writer's session holds the advisory lock
// pg_advisory_lock(hashtext('tosgate.audit:' || instance)) while it runs.
//
// Failure: a commit that fails (server down, connection lost, a round trip
// slower than io_timeout) is counted, the connection dropped, and the same
// batch retried with backoff on a new connection, which first takes the
// advisory lock again and re-reads the instance's last (seq, hash): a batch
// whose COPY did commit before the connection died is recognised by its
// hash and not written twice, so nothing acknowledged is lost or doubled
// and the chain stays intact. The records stay in memory meanwhile and
// count against the queue, so an unreachable server pushes back on Submit.
// Waiters (kSync Submit, SubmitThen) are answered Unavailable after
// commit_timeout; their records stay queued. Close gives records up only
// after close_timeout of failed retries and says how many.
//
// Strings that are not valid UTF-8 (or hold NUL bytes, which PostgreSQL
// text cannot) are stored with each bad byte replaced by U+FFFD, before the
// hash is computed, so the chain covers exactly what is stored.
//
// Thread-safety: Submit, SubmitThen, Flush, Close and stats may be called
// from any thread at once. The destructor closes; it must not race others.
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

struct PostgresAuditOptions {
  std::string dsn;       // libpq key=value or postgresql:// URI
  std::string instance;  // this gateway's id in the fleet; must be unique among live writers
  size_t queue_capacity = 65536;             // records accepted but not yet committed
  std::chrono::milliseconds queue_wait{50};  // Submit's wait on a full queue
  size_t max_batch = 16384;                  // records per COPY (one transaction)
  Durability durability = Durability::kAsync;
  bool truncate_client_ip = false;  // store IPv4 as /24, IPv6 as /48
  // A waiter for its record's commit is answered Unavailable after this
  // while commits keep failing (checked between retries); the record stays.
  std::chrono::milliseconds commit_timeout{5000};
  std::chrono::milliseconds close_timeout{10000};  // Close's retrying before giving up
  std::chrono::seconds connect_timeout{5};         // unless the DSN sets one
  // Longest wait for any one round trip (a COPY, a query) before the
  // connection is dropped as failed; also the server's statement_timeout.
  std::chrono::milliseconds io_timeout{10000};
  // How a batch is sent: one COPY (the default; bench/audit_pg_bench.sh
  // measured it faster) or multi-row INSERTs with parameters inside one
  // transaction, kept for the comparison.
  bool use_copy = true;
  // Where this instance's chain head (seq, hash; unsigned: PostgreSQL keeps
  // no signing key) is also published, after the commit that reached it,
  // once at least anchor_every records since the last one, and at Close
  // (storage/audit/anchor.h); null: nowhere. At Open the instance's chain
  // is checked against the sink's latest, and one cut or rewritten behind
  // it is refused.
  std::shared_ptr<CheckpointSink> anchor{};
  uint64_t anchor_every = 1000;
};

class PostgresAuditSink final : public engine::AuditSink {
 public:
  // Connects, creates or checks the schema, takes the instance's advisory
  // lock and reads where its chain ends, then starts the writer. Errors:
  // InvalidArgument for a bad DSN or options, failed authentication, or a
  // database whose tosgate_ tables are not a tosgate audit store;
  // Unavailable when the server cannot be reached; AlreadyExists when
  // another live gateway writes under the same instance.
  static Result<std::unique_ptr<PostgresAuditSink>> Open(PostgresAuditOptions opts);

  ~PostgresAuditSink() override;  // Close, ignoring its Status
  PostgresAuditSink(const PostgresAuditSink&) = delete;
  PostgresAuditSink& operator=(const PostgresAuditSink&) = delete;

  // As SqliteAuditSink::Submit: ResourceExhausted when the queue stays
  // full for queue_wait; with kSync waits for the commit, or Unavailable
  // after commit_timeout (the record stays queued), or Close's error.
  Status Submit(engine::AuditRecord record) override;

  // Queues and returns; `done` runs once: on the writer thread after the
  // commit (OK), after commit_timeout (Unavailable), when Close gives the
  // record up (IoError), or at once if it could not be queued.
  void SubmitThen(engine::AuditRecord record, std::function<void(Status)> done) override;

  // Blocks until everything accepted before the call is committed (OK), or
  // returns the error of the first failed commit meanwhile (records stay).
  Status Flush();

  // Stops accepting, commits what is queued (retrying up to close_timeout),
  // stops the writer and disconnects (releasing the advisory lock).
  // Idempotent: later calls return the first call's Status.
  Status Close();

  struct Stats {
    uint64_t submitted = 0;        // records accepted
    uint64_t written = 0;          // records committed
    uint64_t rejected_full = 0;    // Submit calls refused because the queue stayed full
    uint64_t write_errors = 0;     // failed commit attempts (each is retried)
    uint64_t batches = 0;          // transactions committed
    uint64_t commit_timeouts = 0;  // waiters answered Unavailable after commit_timeout
    uint64_t reconnects = 0;       // connections made again after one failed
    uint64_t dropped = 0;          // records given up by Close after close_timeout
    uint64_t anchors = 0;          // chain heads published to the anchor sink
    uint64_t anchor_errors = 0;    // failed publications (retried after the next commit)
    size_t queue_depth = 0;        // accepted, not yet committed
  };
  Stats stats() const;

  const std::string& instance() const;
  // The DSN without its password, for logs.
  const std::string& description() const;

 private:
  struct Impl;
  explicit PostgresAuditSink(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// `s` with every byte that is not part of valid UTF-8, and every NUL,
// replaced by U+FFFD. Returns false (leaving `s`) when it was valid.
bool MakeValidUtf8(std::string* s);

}  // namespace tosgate::storage
