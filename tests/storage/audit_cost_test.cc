// The reserved and settled cost in the audit store, fields added to stores
// that already exist (as the trace context was): a record without them
// hashes exactly as before, one with them is covered by the chain, a store
// from before the costs table verifies and gains it at the writer's next
// open, and the costs are read back whole.
#include <doctest/doctest.h>

#include <string>

#include "audit_test_support.h"
#include "storage/audit/chain.h"
#include "storage/audit/reader.h"
#include "storage/audit/verify.h"
#include "temp_dir.h"

namespace tosgate::storage {
namespace {

using audit_test::CountSql;
using audit_test::OpenSink;
using audit_test::RawSql;
using audit_test::Rec;

engine::AuditRecord Costed(const std::string& id, int64_t reserved, int64_t settled) {
  engine::AuditRecord r = Rec(id);
  r.cost_reserved_nano = reserved;
  r.cost_settled_nano = settled;
  return r;
}

}  // namespace

TEST_CASE("audit chain: a record without cost hashes as before; a set cost is covered") {
  const std::string zero = AuditGenesisHash();
  const AuditRow plain = ToAuditRow(Rec("r-1"));
  AuditRow costed = ToAuditRow(Costed("r-1", 5000, -1));
  AuditRow cleared = costed;
  cleared.cost_reserved_nano = -1;
  CHECK(AuditChainHash(zero, 1, cleared) == AuditChainHash(zero, 1, plain));
  CHECK(AuditChainHash(zero, 1, costed) != AuditChainHash(zero, 1, plain));
  AuditRow settled = costed;
  settled.cost_settled_nano = 0;  // a cost of nothing is still a cost
  CHECK(AuditChainHash(zero, 1, settled) != AuditChainHash(zero, 1, costed));
  // With a trace context too: each part changes the hash.
  AuditRow both = costed;
  both.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  CHECK(AuditChainHash(zero, 1, both) != AuditChainHash(zero, 1, costed));
}

TEST_CASE("audit store: a store from before the costs table verifies, then keeps costs") {
  test::TempDir dir;
  const std::string path = dir.File("audit.db");
  {
    auto sink = OpenSink({.path = path});
    for (int i = 1; i <= 3; ++i) REQUIRE(sink->Submit(Rec("old-" + std::to_string(i))).ok());
    REQUIRE(sink->Close().ok());
  }
  RawSql(path, "DROP TRIGGER costs_follow_decisions; DROP TABLE costs");
  {
    auto v = VerifyAuditStore(path);
    REQUIRE(v.ok());
    CHECK_MESSAGE(v->ok, v->problem);
  }
  {
    auto sink = OpenSink({.path = path});  // the writer adds the table
    REQUIRE(sink->Submit(Costed("new-1", 5'000'000, -1)).ok());
    REQUIRE(sink->Submit(Costed("new-1.usage", 5'000'000, 1'200'000)).ok());
    REQUIRE(sink->Submit(Rec("new-2")).ok());
    REQUIRE(sink->Close().ok());
  }
  CHECK(CountSql(path, "SELECT count(*) FROM costs") == 2);
  auto v = VerifyAuditStore(path);
  REQUIRE(v.ok());
  CHECK_MESSAGE(v->ok, v->problem);
  CHECK(v->records == 6);
  // Read back whole.
  auto rows = ReadDecisions(path);
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 6);
  CHECK((*rows)[3].record.cost_reserved_nano == 5'000'000);
  CHECK((*rows)[3].record.cost_settled_nano == -1);
  CHECK((*rows)[4].record.cost_settled_nano == 1'200'000);
  CHECK((*rows)[5].record.cost_reserved_nano == -1);
  // Editing a recorded cost breaks the chain at that record.
  RawSql(path, "UPDATE costs SET settled = 1 WHERE seq = 5");
  auto forged = VerifyAuditStore(path);
  REQUIRE(forged.ok());
  CHECK_FALSE(forged->ok);
  CHECK(forged->bad_seq == 5);
}

}  // namespace tosgate::storage
