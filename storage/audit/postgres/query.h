// The questions of storage/audit/query.h asked of a fleet's audit store in
// PostgreSQL (tosgate_decisions, written by storage/audit/postgres/sink.h): pages
// with a cursor, streamed exports, counts and per-hour stats over every
// gateway instance at once, or one with AuditFilter::instance.
//
// Rows come in (time_ms, instance, seq) order, instance compared bytewise
// (COLLATE "C"), so a cursor resumes exactly where a page ended whatever the
// database's locale. Every filter value is bound as a parameter ($1, $2, ...).
// ForEach reads through a server-side cursor inside one read-only
// REPEATABLE READ transaction: an export of millions of rows holds a
// thousand at a time and sees one snapshot while gateways keep writing.
//
// A PostgresAuditQuery holds one connection and must not be used from two
// threads at once; open one per thread. Nothing here writes.
#pragma once

#include <memory>
#include <string>

#include "storage/audit/query.h"
#include "tosgate/status.h"

namespace tosgate::storage {

class PostgresAuditQuery final : public AuditReadStore {
 public:
  // `dsn`: libpq key=value or postgres:// URI. InvalidArgument for a DSN
  // that does not parse or credentials the server refuses, Unavailable when
  // no server answers, NotFound when the database holds no tosgate audit
  // store; messages never hold the password.
  static Result<std::unique_ptr<PostgresAuditQuery>> Open(const std::string& dsn);
  ~PostgresAuditQuery() override;
  PostgresAuditQuery(const PostgresAuditQuery&) = delete;
  PostgresAuditQuery& operator=(const PostgresAuditQuery&) = delete;

  Result<AuditPage> Page(const AuditFilter& filter, size_t limit,
                         std::optional<AuditCursor> after = std::nullopt) override;
  Status ForEach(const AuditFilter& filter,
                 const std::function<bool(const StoredDecision&)>& row) override;
  Result<uint64_t> Count(const AuditFilter& filter) override;
  Result<std::vector<HourlyCount>> Stats(const AuditFilter& filter) override;
  bool fleet() const override { return true; }

  // Rows ForEach fetches per round trip.
  static constexpr int kFetchRows = 1000;

 private:
  struct Impl;
  explicit PostgresAuditQuery(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tosgate::storage
