#include "storage/audit/chain_check.h"

#include <utility>

#include "storage/audit/chain.h"

namespace tosgate::storage {

std::string AuditRecordName(uint64_t seq, const std::string& id) {
  return "seq " + std::to_string(seq) + " (decision " + (id.empty() ? "with no id" : id) + ")";
}

AuditChainCheck::AuditChainCheck(uint64_t start_seq, std::string prev_hash,
                                 std::string before_start)
    : before_start_(std::move(before_start)), expected_(start_seq), prev_(std::move(prev_hash)) {
  v_.start_seq = start_seq;
}

bool AuditChainCheck::Fail(uint64_t seq, const std::string& id, std::string problem) {
  v_.ok = false;
  v_.bad_seq = seq;
  v_.bad_id = id;
  v_.problem = std::move(problem);
  return false;
}

bool AuditChainCheck::Add(const StoredDecision& d) {
  const std::string& id = d.record.id;
  if (d.seq < expected_) return Fail(d.seq, id, AuditRecordName(d.seq, id) + before_start_);
  if (d.seq > expected_) {
    const std::string missing = d.seq - 1 == expected_
                                    ? "seq " + std::to_string(expected_) + " is missing"
                                    : "seq " + std::to_string(expected_) + " to " +
                                          std::to_string(d.seq - 1) + " are missing";
    return Fail(expected_, id,
                missing + ": deleted (the next record present is " + AuditRecordName(d.seq, id) +
                    ")");
  }
  if (d.prev_hash != prev_) {
    if (d.seq >= v_.start_seq + 1 && d.prev_hash == prev2_) {
      // It chains past the record before it: that one was slipped in.
      return Fail(d.seq - 1, prev_id_,
                  AuditRecordName(d.seq - 1, prev_id_) + ": inserted (" +
                      AuditRecordName(d.seq, id) + " chains to seq " + std::to_string(d.seq - 2) +
                      ")");
    }
    return Fail(d.seq, id,
                AuditRecordName(d.seq, id) + ": its prev_hash is not the hash of seq " +
                    std::to_string(d.seq - 1) +
                    ": a record was inserted, replaced or reordered here (or the previous one "
                    "edited together with its hash)");
  }
  std::string hash = AuditChainHash(prev_, d.seq, d.record, &scratch_);
  if (hash != d.hash)
    return Fail(d.seq, id, AuditRecordName(d.seq, id) + ": its contents do not match its hash: edited");
  prev2_ = std::move(prev_);
  prev_ = std::move(hash);
  prev_id_ = id;
  v_.last_seq = d.seq;
  ++v_.records;
  ++expected_;
  return true;
}

}  // namespace tosgate::storage
