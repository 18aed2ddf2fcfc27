// Shared by the audit durability and verification tests.
#pragma once

#include <doctest/doctest.h>
#include <sqlite3.h>

#include <memory>
#include <string>

#include "storage/audit/chain.h"
#include "storage/audit/reader.h"
#include "storage/audit/sqlite/schema.h"
#include "storage/audit/sqlite/sink.h"

namespace tosgate::storage::audit_test {

inline engine::AuditRecord Rec(const std::string& id, int64_t time_ms = 1764331200000) {
  engine::AuditRecord r;
  r.id = id;
  r.time_ms = time_ms;
  r.account = "acct_1";
  r.client_ip = "203.0.113.77";
  r.method = "POST";
  r.path = "/v1/chat/completions";
  r.effect = Effect::kAllow;
  r.status = 200;
  r.risk = 0.25;
  return r;
}

inline std::unique_ptr<SqliteAuditSink> OpenSink(SqliteAuditOptions o) {
  auto sink = SqliteAuditSink::Open(std::move(o));
  REQUIRE_MESSAGE(sink.ok(), sink.status().ToString());
  return std::move(sink).value();
}

// Runs SQL on the store through a connection of its own; fails the test on
// an error.
inline void RawSql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  const std::string msg = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  REQUIRE_MESSAGE(rc == SQLITE_OK, sql << ": " << msg);
}

// Rewrites the hash (and the next record's prev_hash) of every record of
// the store at `path` from `seq` on, as an attacker who knows the chain
// format would: the chain alone then verifies.
inline void Rechain(const std::string& path, uint64_t seq) {
  DecisionQuery all;
  all.limit = 0;
  auto rows = ReadDecisions(path, all);
  REQUIRE(rows.ok());
  std::string prev;
  for (const StoredDecision& d : *rows) {
    if (d.seq < seq) {
      prev = d.hash;
      continue;
    }
    const std::string h = AuditChainHash(prev, d.seq, d.record);
    RawSql(path, "UPDATE decisions SET prev_hash = x'" + ToHex(prev) + "', hash = x'" + ToHex(h) +
                     "' WHERE seq = " + std::to_string(d.seq));
    prev = h;
  }
}

// The number of rows the query's first column counts (SELECT count(*) ...).
inline int64_t CountSql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  int64_t n = -1;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

// Holds the store's write lock from a second connection until Release().
class LockHolder {
 public:
  explicit LockHolder(const std::string& path) {
    REQUIRE(sqlite3_open(path.c_str(), &db_) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db_, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr) == SQLITE_OK);
  }
  ~LockHolder() {
    Release();
    sqlite3_close(db_);
  }
  void Release() {
    if (held_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    held_ = false;
  }

 private:
  sqlite3* db_ = nullptr;
  bool held_ = true;
};

}  // namespace tosgate::storage::audit_test
