// Private to storage/: one hash chain checked link by link, fed its records
// in seq order - the part of `tosgate audit verify` the SQLite store
// (storage/audit/sqlite/verify.cc) and each instance of a PostgreSQL fleet
// (storage/audit/postgres/verify.cc) share. The first problem found is the
// verdict, naming the record and what was done to it.
#pragma once

#include <cstdint>
#include <string>

#include "storage/audit/reader.h"
#include "storage/audit/verify.h"

namespace tosgate::storage {

// "seq N (decision ID)", as verdicts name records.
std::string AuditRecordName(uint64_t seq, const std::string& id);

class AuditChainCheck {
 public:
  // A chain whose first record is `start_seq`, chained to `prev_hash`. A
  // record numbered before it is inserted; `before_start` says why, after
  // its name (": a chain starts at seq 1: inserted").
  AuditChainCheck(uint64_t start_seq, std::string prev_hash, std::string before_start);

  // Checks the next record; false once a problem is found (final).
  bool Add(const StoredDecision& d);
  // Records a problem the caller found (a checkpoint); returns false.
  bool Fail(uint64_t seq, const std::string& id, std::string problem);

  // The hash of the last record added.
  const std::string& last_hash() const { return prev_; }
  AuditVerdict& verdict() { return v_; }

 private:
  AuditVerdict v_;
  std::string before_start_;
  uint64_t expected_;
  std::string prev_, prev2_, prev_id_, scratch_;  // prev2_: the hash before prev_
};

}  // namespace tosgate::storage
