// The hash chain over audit records: each stored decision carries the hash
// of the one before it, so removing, reordering or editing a row is evident.
//
//   hash(n) = SHA-256( "tosgate.audit.v1" || hash(n-1) || seq(n) || fields(n) )
//
// where hash(0) is 32 zero bytes, seq is an unsigned 64-bit big-endian
// integer, and fields are the AuditRow's members in declaration order:
// strings as a 32-bit big-endian length then their bytes, integers as 64-bit
// big-endian two's complement, `enforced` as one byte 0/1, `status` widened
// to 64 bits, and `risk` as its IEEE-754 bits (big-endian) after mapping
// -0.0 to 0.0 and every NaN to 0x7ff8000000000000, because that is what
// SQLite gives back. docs/audit.md states the same for external verifiers.
// traceparent and tracestate, added later, follow latency_us as two more
// strings only when either is non-empty: a record without trace context
// (every record of an older store) hashes exactly as before.
//
// Pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "storage/audit/row.h"

namespace tosgate::storage {

inline constexpr size_t kAuditHashSize = 32;

// The 32 zero bytes the first record of a store chains to.
std::string AuditGenesisHash();

// The raw 32-byte hash of `record` stored at `seq` after `prev_hash`.
// `scratch` is reused between calls to avoid allocating; may be null.
std::string AuditChainHash(std::string_view prev_hash, uint64_t seq,
                           const AuditRow& record, std::string* scratch = nullptr);

}  // namespace tosgate::storage
