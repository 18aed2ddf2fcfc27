// Reading decisions back from an audit store: for tests, `tosgate audit`
// and the admin API. Opens the file read-only for the duration of one call,
// so it may run while a SqliteAuditSink is writing the same file (WAL lets
// readers and the writer proceed together). Safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "storage/audit/row.h"
#include "tosgate/status.h"

namespace tosgate::storage {

// One row of the `decisions` table.
struct StoredDecision {
  uint64_t seq = 0;       // 1, 2, 3, ... in commit order, per store (per instance)
  std::string prev_hash;  // 32 raw bytes: the hash of seq - 1 (zeros for seq 1)
  std::string hash;       // 32 raw bytes: see storage/audit/chain.h
  AuditRow record;
  // The gateway instance that wrote it, in a fleet store (PostgreSQL, where
  // each instance keeps its own chain); empty in an SQLite store.
  std::string instance = {};
};

struct DecisionQuery {
  std::string account;       // only this account's decisions; empty = all
  uint64_t after_seq = 0;    // only rows with seq > after_seq (paging)
  size_t limit = 100;        // at most this many rows; 0 = no limit
  bool newest_first = false; // order by seq descending instead of ascending
};

// Decisions matching `query`. NotFound when `path` does not exist;
// InvalidArgument when it is not a tosgate audit store.
Result<std::vector<StoredDecision>> ReadDecisions(const std::string& path,
                                                  const DecisionQuery& query = {});

}  // namespace tosgate::storage
