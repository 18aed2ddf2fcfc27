// Checking an audit store for tampering, and pruning it without breaking
// the check.
//
// VerifyAuditStore walks the decisions in seq order from the start of the
// chain (seq 1 after 32 zero bytes, or the anchor `PruneAuditStore` left),
// recomputing every hash (storage/audit/chain.h), and compares each signed
// checkpoint with the chain and, given the public key, checks its Ed25519
// signature (storage/audit/signing.h). It stops at the first problem and
// names that record. Time stamps play no part: a wall clock that jumped
// backwards does not matter, only seq order does.
//
// Given an anchor (storage/audit/anchor.h: the latest checkpoint, kept
// outside the store), it also fails when the store lacks the anchored
// checkpoint or holds a different one, ends before it, or has another hash
// at its seq. Without one, a tail cut at a checkpoint, or records rewritten
// with every checkpoint deleted, cannot be told from an intact store, and
// the verdict's notes say so.
//
// Both open the file themselves and may run while a SqliteAuditSink
// writes it (WAL). Safe from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "storage/audit/anchor.h"
#include "tosgate/status.h"

namespace tosgate::storage {

class AuditKey;

struct AuditVerifyOptions {
  const AuditKey* public_key = nullptr;  // null: signatures are not checked
  const AuditCheckpoint* anchor = nullptr;  // null: a cut tail cannot be detected
  // Called now and then with (records checked, records in the store).
  std::function<void(uint64_t, uint64_t)> progress{};
};

struct AuditVerdict {
  bool ok = true;
  uint64_t records = 0;       // records whose hash was checked
  uint64_t start_seq = 1;     // first seq of the chain (after a prune anchor)
  uint64_t last_seq = 0;      // last seq checked
  std::string last_hash;      // its hash (when the chain verified to there)
  uint64_t checkpoints = 0;   // checkpoints compared with the chain
  uint64_t signatures = 0;    // of those, signatures verified with the key
  uint64_t anchored_seq = 0;  // the anchor's seq, when one was given and matched
  // The first bad record, when !ok: its seq (for a deleted one, the first
  // missing seq), the decision id found there or next to it, and what is
  // wrong, as one sentence that starts with "seq N".
  uint64_t bad_seq = 0;
  std::string bad_id;
  std::string problem;
  std::vector<std::string> notes;  // worth knowing, not tampering
};

// A non-OK Status means the store could not be read (missing, not a tosgate
// audit store, newer schema); tampering is a verdict with ok == false.
Result<AuditVerdict> VerifyAuditStore(const std::string& path, const AuditVerifyOptions& opts = {});

// The store's latest signed checkpoint (nullopt: it has none), for
// `tosgate audit export-anchor`; an error when the record it names is
// missing or has another hash.
Result<std::optional<AuditCheckpoint>> ReadLatestCheckpoint(const std::string& path);

struct AuditPruneResult {
  uint64_t pruned = 0;      // records deleted
  uint64_t anchor_seq = 0;  // the chain now starts after this seq (0: nothing pruned ever)
};

// Deletes the oldest records, those before the first record with
// time_ms >= before_ms in seq order (a prefix of the chain, so a record
// stamped earlier by a clock that jumped back after a newer one is kept),
// together with their checkpoints, and records the last deleted record's
// seq and hash as the anchor verification starts from. One transaction.
Result<AuditPruneResult> PruneAuditStore(const std::string& path, int64_t before_ms);

}  // namespace tosgate::storage
