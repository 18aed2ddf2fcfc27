// Bounds on what one audit record may hold. Most text fields of a record
// come from the client (the model it names, its X-Request-Id, the path, the
// address a proxy reported...), and a store that keeps them whole lets one
// client write up to the body limit into every record: a disk-filling
// lever, and a way to push junk past anyone reading the trail. Every text
// field is therefore cut to a fixed number of bytes, at a UTF-8 character
// boundary, ending in a visible marker that says how much was cut:
//
//   "gpt-4o-aaaa…[+102380 bytes]"
//
// The result, marker included, is never longer than the bound. The JSON
// fields (rule_ids, matches) stay valid JSON: over their bound, every string
// inside them is cut the same way, and elements past the bound are replaced
// by one marker string. BoundAuditRecord runs once, when a record is queued
// (storage/audit/batch_queue.cc), so both stores (SQLite and PostgreSQL)
// keep the same bytes, and the hash chain covers what is stored.
// docs/audit.md tables the bounds.
//
// Pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <string>

#include "storage/audit/row.h"

namespace tosgate::storage {

inline constexpr size_t kAuditTextMax = 256;    // every text field but these:
inline constexpr size_t kAuditPathMax = 1024;   // path
inline constexpr size_t kAuditJsonMax = 16384;  // rule_ids, matches (each)

// Cuts `s` to at most `max` bytes (marker included) when it is longer; see
// above. `max` must leave room for a marker (at least 32). Returns whether
// it cut.
bool BoundAuditText(std::string* s, size_t max);

// Cuts every field of `r` to its bound.
void BoundAuditRecord(AuditRow* r);

}  // namespace tosgate::storage
