// Questions to the audit store: filtered, paged listings, streamed exports
// and per-hour counts, for `tosgate audit query|export|stats` and the admin
// API. AuditReadStore is what both stores answer: AuditQuery (SQLite, here)
// and PostgresAuditQuery (storage/audit/postgres/query.h, a fleet's store).
// Every filter value is bound as an SQL parameter, never pasted into the
// statement, so quotes, `%` or `;` in a filter are plain data.
//
// An AuditQuery holds one read connection. It may run while a
// SqliteAuditSink writes the same file (WAL). One AuditQuery must not be
// used from two threads at once; open one per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "storage/audit/reader.h"
#include "tosgate/status.h"

struct sqlite3;

namespace tosgate::storage {

// Which decisions. Empty strings and unset times do not filter.
struct AuditFilter {
  std::string account = {};              // exact
  std::string org = {};                  // exact
  std::string effect = {};               // exact: allow | throttle | deny
  std::string rule = {};                 // one element of rule_ids, compared whole (no substrings)
  std::string reason = {};               // exact reason code
  std::optional<int64_t> since_ms = {};  // time_ms >= since_ms
  std::optional<int64_t> until_ms = {};  // time_ms <  until_ms
  std::string instance = {};             // exact; fleet (PostgreSQL) stores only
  std::string trace_id = {};             // the 32 hex digits of a W3C traceparent's trace id
};

// Where a page ended: the (time_ms, seq) of its last row. Results are in
// (time_ms, seq) order, so the next page starts strictly after it. In a
// fleet store the order is (time_ms, instance, seq), instance compared
// bytewise, and the cursor carries the instance too.
struct AuditCursor {
  int64_t time_ms = 0;
  uint64_t seq = 0;
  std::string instance = {};  // empty for an SQLite store
};
// An opaque token for the command line and the admin API. Without an
// instance it is the SQLite token of before ("c1" + 32 hex digits).
std::string EncodeCursor(const AuditCursor& c);
// InvalidArgument for anything EncodeCursor did not make.
Result<AuditCursor> DecodeCursor(std::string_view token);

struct AuditPage {
  std::vector<StoredDecision> rows;
  std::optional<AuditCursor> next;  // set when more rows match after the last
};

// One (hour, effect) bucket of Stats.
struct HourlyCount {
  int64_t hour_ms = 0;  // start of the hour, ms since the epoch (UTC)
  std::string effect = {};
  uint64_t count = 0;
};

// Creates the optional query indexes the schema does not: (org, time_ms).
// Idempotent; on a large store the first call takes a while (it builds the
// index) and holds the write lock meanwhile. Opt-in, because every insert
// then updates one more index: about a quarter of the writer's throughput
// in bench/audit_bench --what-if.
Status EnsureQueryIndexes(sqlite3* db);

// The questions `tosgate audit query|export|stats` ask, whichever the
// store. Implementations are not thread-safe: one per thread.
class AuditReadStore {
 public:
  virtual ~AuditReadStore() = default;

  // At most `limit` (>= 1) decisions matching `filter` after `after`, in
  // (time_ms[, instance], seq) order.
  virtual Result<AuditPage> Page(const AuditFilter& filter, size_t limit,
                                 std::optional<AuditCursor> after = std::nullopt) = 0;
  // Calls `row` for every matching decision in that order, a bounded number
  // of rows in memory at a time. `row` returns false to stop early.
  virtual Status ForEach(const AuditFilter& filter,
                         const std::function<bool(const StoredDecision&)>& row) = 0;
  // How many decisions match (for a progress bar).
  virtual Result<uint64_t> Count(const AuditFilter& filter) = 0;
  // Decisions per hour and effect, hours ascending, effects by name; hours
  // with no decision are absent.
  virtual Result<std::vector<HourlyCount>> Stats(const AuditFilter& filter) = 0;
  // Whether rows carry an instance (a fleet store): listings and exports
  // then show it.
  virtual bool fleet() const = 0;
};

class AuditQuery final : public AuditReadStore {
 public:
  struct Options {
    // Open read-write first and build missing query indexes (see
    // EnsureQueryIndexes). When the file cannot be written the queries
    // still run, read-only, only slower by org. Otherwise nothing writes.
    bool ensure_indexes = false;
    // Called with a line to show the user, e.g. that an index is being built.
    std::function<void(const std::string&)> note = nullptr;
  };

  // NotFound when `path` does not exist; InvalidArgument when it is not a
  // tosgate audit store or one of a schema version this code does not know.
  static Result<std::unique_ptr<AuditQuery>> Open(const std::string& path, Options opts);
  static Result<std::unique_ptr<AuditQuery>> Open(const std::string& path) {
    return Open(path, Options{});
  }
  ~AuditQuery();
  AuditQuery(const AuditQuery&) = delete;
  AuditQuery& operator=(const AuditQuery&) = delete;

  // At most `limit` (>= 1) decisions matching `filter` after `after`, in
  // (time_ms, seq) order. A filter or cursor naming an instance is
  // InvalidArgument: an SQLite store has none.
  Result<AuditPage> Page(const AuditFilter& filter, size_t limit,
                         std::optional<AuditCursor> after = std::nullopt) override;

  // Calls `row` for every matching decision in (time_ms, seq) order, one
  // row in memory at a time. `row` returns false to stop early.
  Status ForEach(const AuditFilter& filter,
                 const std::function<bool(const StoredDecision&)>& row) override;

  // How many decisions match (for a progress bar).
  Result<uint64_t> Count(const AuditFilter& filter) override;

  // Decisions per hour and effect, hours ascending, effects by name; hours
  // with no decision are absent.
  Result<std::vector<HourlyCount>> Stats(const AuditFilter& filter) override;

  bool fleet() const override { return false; }

  // The SQLite query plan of Page for `filter`, one line per step (tests
  // and benchmarks check the indexes are used).
  Result<std::string> Plan(const AuditFilter& filter);

 private:
  struct Impl;
  explicit AuditQuery(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Output formats of `tosgate audit export`. The columns are the table's, in
// its order; hashes are lower-case hex, times ms since the epoch. With
// `instance_column` (a fleet store) an `instance` column comes first.
std::string CsvHeader(bool instance_column = false);
// One CSV record (RFC 4180: fields with a comma, quote, CR or LF are quoted,
// quotes doubled), ending in "\r\n".
std::string CsvRow(const StoredDecision& d, bool instance_column = false);
// One JSON object on one line, ending in "\n". rule_ids and matches are
// embedded as JSON when they are valid JSON, else as strings. An "instance"
// member comes first when d.instance is set.
std::string JsonLine(const StoredDecision& d);

// Parses a time for a filter: RFC 3339 ("2026-11-28T20:00:00Z",
// "2026-11-28T21:00:00.5+01:00"), a date ("2026-11-28", midnight UTC) or
// milliseconds since the epoch ("1764360000000"). InvalidArgument otherwise.
Result<int64_t> ParseAuditTime(std::string_view text);
// RFC 3339 UTC with milliseconds: "2026-11-28T20:00:00.000Z".
std::string FormatAuditTime(int64_t time_ms);

}  // namespace tosgate::storage
