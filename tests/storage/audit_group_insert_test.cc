// The SQLite writer inserts a batch 32, 8 or 4 rows per statement
// (storage/audit/sqlite/writer.cc): the rows, their chain and the signed
// checkpoints that fall inside a group must be exactly what one row per
// statement gave.
#include <doctest/doctest.h>
#include <sqlite3.h>

#include <string>

#include "audit_test_support.h"
#include "storage/audit/chain.h"
#include "storage/audit/signing.h"
#include "storage/audit/verify.h"
#include "temp_dir.h"

namespace tosgate::storage {
namespace {

using audit_test::CountSql;
using audit_test::OpenSink;
using audit_test::Rec;

constexpr int64_t kT0 = 1764331200000;

// Submits kRecords while another connection holds the write lock, then
// checks the stored chain and signatures row by row.
void CheckGroupedBatch(const int kRecords) {
  test::TempDir dir;
  const std::string path = dir.File("audit.db");
  const std::string key_path = dir.File("signing.pem");
  REQUIRE(GenerateKey(key_path).ok());
  auto key = LoadPrivateKey(key_path);
  REQUIRE(key.ok());

  auto sink = OpenSink({.path = path,
                        .busy_timeout = std::chrono::milliseconds(600000),
                        .signing_key_path = key_path,
                        .checkpoint_every = 10});
  // Another connection holds the write lock, so the writer's first
  // transaction waits in SQLite's busy handler until it is released, and
  // everything submitted meanwhile queues behind it: at most two batches,
  // one of them at least 50 records (groups of 32 and single rows).
  sqlite3* other = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &other) == SQLITE_OK);
  REQUIRE(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);
  for (int i = 1; i <= kRecords; ++i)
    REQUIRE(sink->Submit(Rec("r-" + std::to_string(i), kT0 + i * 1000)).ok());
  REQUIRE(sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(other);
  REQUIRE(sink->Flush().ok());
  CHECK(sink->stats().batches <= 2);
  CHECK(sink->stats().written == kRecords);
  REQUIRE(sink->Close().ok());

  // The chain, recomputed row by row from the stored columns.
  DecisionQuery all;
  all.limit = 0;
  auto rows = ReadDecisions(path, all);
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == kRecords);
  std::string prev = AuditGenesisHash();
  for (size_t i = 0; i < rows->size(); ++i) {
    const StoredDecision& d = (*rows)[i];
    CHECK(d.seq == i + 1);
    CHECK(d.record.id == "r-" + std::to_string(i + 1));
    CHECK(d.record.time_ms == kT0 + static_cast<int64_t>(i + 1) * 1000);
    CHECK(d.prev_hash == prev);
    CHECK(d.hash == AuditChainHash(prev, d.seq, d.record));
    prev = d.hash;
  }
  // Every tenth record signed, with its own hash, and the last at Close:
  // verify checks each one.
  const int signatures = kRecords / 10 + (kRecords % 10 ? 1 : 0);
  CHECK(CountSql(path, "SELECT count(*) FROM checkpoints") == signatures);
  CHECK(CountSql(path, "SELECT count(*) FROM checkpoints c JOIN decisions d USING (seq) "
                       "WHERE c.hash = d.hash") == signatures);
  auto v = VerifyAuditStore(path, {.public_key = &*key});
  REQUIRE(v.ok());
  CHECK_MESSAGE(v->ok, v->problem);
  CHECK(v->records == kRecords);
  CHECK(v->signatures == signatures);
}

TEST_CASE("a batch written 32 rows per statement chains, signs and verifies as row by row") {
  CheckGroupedBatch(100);
}

// 47 after a first small batch: groups of 32, 8 and 4 rows and single rows.
TEST_CASE("a batch written in groups of 8 and 4 rows chains, signs and verifies as row by row") {
  CheckGroupedBatch(47);
}

}  // namespace
}  // namespace tosgate::storage
