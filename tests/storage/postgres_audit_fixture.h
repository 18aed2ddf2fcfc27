// A fleet audit store in a real PostgreSQL for the read-side tests: one
// server per test program (started on first use), a fresh database per
// test, and decisions inserted the way the writer stores them: per
// instance, seq 1..n, hashes chained with storage/audit/chain.h.
#pragma once

#include <doctest/doctest.h>
#include <libpq-fe.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "engine/audit_sink.h"
#include "storage/audit/chain.h"
#include "storage/audit/postgres/schema.h"
#include "tests/storage/postgres_server.h"

namespace tosgate::test {

inline constexpr int64_t kFleetT0 = 1764331200000;  // 2025-11-28T12:00:00Z
inline constexpr char kOddAccount[] = "o'brien; DROP TABLE tosgate_decisions; --";
// Instances in the fleet order of their names, bytewise; the last one has
// SQL and CSV metacharacters.
inline const std::vector<std::string>& FleetInstances() {
  static const std::vector<std::string> v{"gw-a:8080", "gw-b:8080", "gw-c,'; --"};
  return v;
}

inline std::string Hex(std::string_view bytes) {
  static constexpr char k[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += k[c >> 4];
    out += k[c & 15];
  }
  return out;
}

struct PgConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using TestConn = std::unique_ptr<PGconn, PgConnDeleter>;

inline TestConn ConnectOrFail(const std::string& dsn) {
  TestConn c(PQconnectdb(dsn.c_str()));
  REQUIRE_MESSAGE(PQstatus(c.get()) == CONNECTION_OK, PQerrorMessage(c.get()));
  return c;
}

// Runs `sql` with text parameters; fails the test on an error.
inline std::string Exec(PGconn* c, const std::string& sql, std::vector<std::string> params = {}) {
  std::vector<const char*> v;
  for (const auto& p : params) v.push_back(p.c_str());
  PGresult* r = PQexecParams(c, sql.c_str(), static_cast<int>(v.size()), nullptr, v.data(), nullptr,
                             nullptr, 0);
  const ExecStatusType st = PQresultStatus(r);
  const std::string err = PQresultErrorMessage(r);
  std::string first = (st == PGRES_TUPLES_OK && PQntuples(r) > 0) ? PQgetvalue(r, 0, 0) : "";
  PQclear(r);
  REQUIRE_MESSAGE((st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK), sql << ": " << err);
  return first;
}

// The shared server, or null when PostgreSQL is missing (test skipped).
inline PostgresServer* SharedPostgres() {
  if (!PostgresAvailable()) return nullptr;
  static PostgresServer server;
  return &server;
}

// A fresh, empty database on the shared server with the audit schema;
// its DSN.
inline std::string FreshAuditDb(PostgresServer& server) {
  static int n = 0;
  const std::string name = "audit_" + std::to_string(getpid()) + "_" + std::to_string(++n);
  auto admin = ConnectOrFail(server.Dsn());
  Exec(admin.get(), "CREATE DATABASE " + name);
  const std::string dsn = server.Dsn() + " dbname=" + name;
  auto c = ConnectOrFail(dsn);
  const Status s = storage::EnsurePostgresAuditSchema(c.get());
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  return dsn;
}

// Inserts `records` as `instance`'s chain from seq `first_seq` after `prev`
// (one transaction); returns the last hash.
inline std::string InsertChain(PGconn* c, const std::string& instance,
                               const std::vector<storage::AuditRow>& records,
                               uint64_t first_seq = 1,
                               std::string prev = storage::AuditGenesisHash()) {
  Exec(c, "BEGIN");
  uint64_t seq = first_seq;
  for (const storage::AuditRow& r : records) {
    const std::string hash = storage::AuditChainHash(prev, seq, r);
    char risk[32] = "";  // every bit: the hash covers them
    if (!std::isnan(r.risk)) std::snprintf(risk, sizeof risk, "%.17g", r.risk);
    std::vector<std::string> p{instance,
                               std::to_string(seq),
                               r.id,
                               std::to_string(r.time_ms),
                               r.request_id,
                               r.account,
                               r.key_id,
                               r.org,
                               r.client_ip,
                               r.method,
                               r.path,
                               r.operation,
                               r.model,
                               r.effect,
                               r.enforced ? "true" : "false",
                               std::to_string(r.status),
                               r.reason,
                               r.rule_ids,
                               r.matches,
                               risk,
                               r.policy_revision,
                               r.prompt_sha256,
                               std::to_string(r.latency_us),
                               "\\x" + Hex(prev),
                               "\\x" + Hex(hash)};
    std::string sql = "INSERT INTO tosgate_decisions (" +
                      std::string(storage::kPostgresDecisionColumns) + ") VALUES (";
    for (size_t i = 1; i <= p.size(); ++i) {
      const std::string n = "$" + std::to_string(i);
      // risk: NULL for NaN, as the writer stores it
      sql += (i > 1 ? ", " : "") + (i == 20 ? "NULLIF(" + n + ", '')::double precision" : n);
    }
    sql += ")";
    Exec(c, sql, p);
    prev = hash;
    ++seq;
  }
  Exec(c, "COMMIT");
  return prev;
}

// Record i of instance `k` (0-based) in the standard fleet: two a ten
// minutes (so instances share milliseconds and the rows span two hours);
// every 5th a deny by rule purpose.x with a reason holding a comma and a
// quote; every 4th from an account with SQL metacharacters; #7 by rule
// purpose.x.y (not purpose.x); #11 with no risk (NaN). FleetRow adds #9
// with rule_ids that are not JSON (a row no sink writes).
inline engine::AuditRecord FleetRecord(size_t k, int i) {
  engine::AuditRecord r;
  r.id = "d" + std::to_string(k) + "_" + std::to_string(i);
  r.time_ms = kFleetT0 + (i / 2) * 600000;
  r.account = i % 4 == 3 ? kOddAccount : "acct_" + std::to_string(i % 3);
  r.org = "org_" + std::to_string(i % 2);
  const bool deny = i % 5 == 0;
  r.effect = deny ? Effect::kDeny : Effect::kAllow;
  r.status = deny ? 403 : 200;
  r.reason = deny ? "purpose, \"training\"" : "";
  if (deny) r.rule_ids = {"purpose.x"};
  if (i == 7) r.rule_ids = {"purpose.x.y"};
  r.risk = i == 11 ? std::numeric_limits<double>::quiet_NaN() : i * 0.1;
  r.latency_us = 100 + i;
  return r;
}

// Record i of instance `k` as stored.
inline storage::AuditRow FleetRow(size_t k, int i) {
  storage::AuditRow row = storage::ToAuditRow(FleetRecord(k, i));
  if (i == 9) row.rule_ids = "oops";
  return row;
}

inline constexpr int kFleetPerInstance = 20;

// The standard fleet: kFleetPerInstance records for each of FleetInstances().
inline void InsertFleet(const std::string& dsn) {
  auto c = ConnectOrFail(dsn);
  for (size_t k = 0; k < FleetInstances().size(); ++k) {
    std::vector<storage::AuditRow> rs;
    for (int i = 0; i < kFleetPerInstance; ++i) rs.push_back(FleetRow(k, i));
    InsertChain(c.get(), FleetInstances()[k], rs);
  }
}

// The standard fleet's ids in (time_ms, instance, seq) order, keeping the
// records `keep` accepts.
template <typename Keep>
std::vector<std::string> FleetIds(Keep keep) {
  std::vector<std::tuple<int64_t, std::string, int, std::string>> rows;
  for (size_t k = 0; k < FleetInstances().size(); ++k) {
    for (int i = 0; i < kFleetPerInstance; ++i) {
      const storage::AuditRow r = FleetRow(k, i);
      if (keep(FleetInstances()[k], r)) rows.emplace_back(r.time_ms, FleetInstances()[k], i, r.id);
    }
  }
  std::sort(rows.begin(), rows.end());
  std::vector<std::string> out;
  for (const auto& row : rows) out.push_back(std::get<3>(row));
  return out;
}

}  // namespace tosgate::test
