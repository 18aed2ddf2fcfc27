// The audit sink `serve` writes to, chosen by `audit.backend` in the config:
// sqlite (the default: one file, audit.path) or postgres (a fleet's shared
// trail, audit.dsn, each gateway under its audit.instance; docs/scaling.md).
// serve sees one AuditSink plus the counters /metrics shows, whichever it is
// (RegisterAuditMetrics).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "server/config.h"
#include "engine/audit_sink.h"
#include "metrics/registry.h"
#include "tosgate/status.h"

namespace tosgate::server {

// What /metrics reports of the audit store; a counter a backend does not
// have stays 0 (recreated: SQLite only; reconnects: PostgreSQL only).
struct AuditBackendStats {
  uint64_t submitted = 0, written = 0, rejected_full = 0, write_errors = 0, batches = 0;
  uint64_t commit_timeouts = 0, dropped = 0, recreated = 0, reconnects = 0;
  // Checkpoints published to audit.anchor, and publications that failed.
  uint64_t anchors = 0, anchor_errors = 0;
  size_t queue_depth = 0;
};

class AuditBackend : public engine::AuditSink {
 public:
  ~AuditBackend() override = default;
  // Flushes what is queued and closes (see SqliteAuditSink::Close and
  // PostgresAuditSink::Close). Idempotent.
  virtual Status Close() = 0;
  virtual AuditBackendStats stats() const = 0;
};


// The audit.instance in effect: as configured, else "<hostname>:<port of
// listen.gateway>" (set it explicitly when two gateways share a host and port).
std::string AuditInstance(const ServeConfig& cfg);

// "var/tosgate.db (sync)" or "postgres host=... password=*** instance gw1:8080 (sync)",
// for the banner; never the password.
std::string DescribeAuditBackend(const ServeConfig& cfg);

// Registers the store's counters (tosgate_audit_*) in `registry`; `backend`
// must outlive it.
void RegisterAuditMetrics(const AuditBackend* backend, metrics::Registry* registry);

// Opens the configured store. SQLite: creates the file's directory first.
// With audit.anchor, each checkpoint is also written to that file (its
// directory created too), and a store cut or rewritten behind the anchor
// already there is refused here (storage/audit/anchor.h).
// PostgreSQL: a wrong DSN, an unreachable server, failed authentication,
// a foreign schema or an instance id already live elsewhere is an error
// here, at start-up.
Result<std::unique_ptr<AuditBackend>> OpenAuditBackend(const ServeConfig& cfg);

}  // namespace tosgate::server
