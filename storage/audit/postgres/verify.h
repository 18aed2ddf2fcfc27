// Checking a fleet's audit store in PostgreSQL for tampering. Every gateway
// instance keeps its own hash chain in tosgate_decisions (seq 1..n per
// instance, storage/audit/chain.h), so each is verified on its own: seq
// contiguous from 1, every prev_hash the hash of the record before, every
// hash recomputed from the record. One verdict per instance, stopping at
// that instance's first problem; the fleet is ok when every instance is.
//
// Unlike the SQLite store there are no signed checkpoints and no prune
// anchor in PostgreSQL: records deleted from the end of an instance's chain
// (with nothing after them) cannot be told from records never written,
// unless an anchor (storage/audit/anchor.h: the instance's chain head the
// gateway published outside the database) is given: the anchored instance
// then fails when it is gone, ends before the anchored seq, or has another
// hash there.
//
// Reads one snapshot (a read-only REPEATABLE READ transaction) while
// gateways keep writing, through a server-side cursor per instance.
// Safe from any thread; opens its own connection.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "storage/audit/verify.h"
#include "tosgate/status.h"

namespace tosgate::storage {

struct AuditCheckpoint;

struct PostgresVerifyOptions {
  std::string instance = {};  // only this instance; empty: every instance
  const AuditCheckpoint* anchor = nullptr;  // a postgres anchor of one instance
  // Called now and then with (records checked, records in the fleet).
  std::function<void(uint64_t, uint64_t)> progress = nullptr;
};

struct InstanceVerdict {
  std::string instance;
  // As for an SQLite store (start_seq is always 1; no checkpoints or
  // signatures); `problem` starts with "seq N".
  AuditVerdict verdict;
};

struct FleetVerdict {
  bool ok = true;                          // every instance verified
  uint64_t records = 0;                    // records checked, all instances
  std::vector<InstanceVerdict> instances;  // bytewise by instance
  std::vector<std::string> notes;          // worth knowing, not tampering
};

// A non-OK Status means the store could not be read (see
// PostgresAuditQuery::Open), or NotFound when `opts.instance` has no
// records; tampering is a verdict with ok == false.
Result<FleetVerdict> VerifyPostgresAuditStore(const std::string& dsn,
                                              const PostgresVerifyOptions& opts = {});

}  // namespace tosgate::storage
