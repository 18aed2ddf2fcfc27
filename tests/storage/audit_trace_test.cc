// The W3C trace context in the audit store, a field added to stores that
// already exist: a record without it hashes exactly as before (so every
// older chain verifies), one with it is covered by the chain, a store made
// before the columns existed reads as empty and gains them at the writer's
// next open, and query finds decisions by trace id.
#include <doctest/doctest.h>

#include <string>

#include "audit_test_support.h"
#include "storage/audit/chain.h"
#include "storage/audit/query.h"
#include "storage/audit/reader.h"
#include "storage/audit/verify.h"
#include "temp_dir.h"

namespace tosgate::storage {
namespace {

using audit_test::CountSql;
using audit_test::OpenSink;
using audit_test::RawSql;
using audit_test::Rec;

constexpr char kParent[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
constexpr char kTraceId[] = "4bf92f3577b34da6a3ce929d0e0e4736";

engine::AuditRecord Traced(const std::string& id) {
  engine::AuditRecord r = Rec(id);
  r.traceparent = kParent;
  r.tracestate = "congo=t61rcWkgMzE";
  return r;
}

TEST_CASE("audit chain: empty trace context hashes as before; a set one is covered") {
  const AuditRow plain = ToAuditRow(Rec("r-1"));
  AuditRow traced = ToAuditRow(Traced("r-1"));
  const std::string zero = AuditGenesisHash();
  // The pre-trace encoding: the same row with the fields empty hashes the
  // same whether or not the code knows the fields.
  AuditRow cleared = traced;
  cleared.traceparent.clear();
  cleared.tracestate.clear();
  CHECK(AuditChainHash(zero, 1, cleared) == AuditChainHash(zero, 1, plain));
  CHECK(AuditChainHash(zero, 1, traced) != AuditChainHash(zero, 1, plain));
  AuditRow other_state = traced;
  other_state.tracestate = "congo=changed";
  CHECK(AuditChainHash(zero, 1, other_state) != AuditChainHash(zero, 1, traced));
}

TEST_CASE("audit store: a store from before the traces table verifies, then gains it") {
  test::TempDir dir;
  const std::string path = dir.File("audit.db");
  {
    auto sink = OpenSink({.path = path});
    for (int i = 1; i <= 5; ++i) REQUIRE(sink->Submit(Rec("old-" + std::to_string(i))).ok());
    REQUIRE(sink->Close().ok());
  }
  // As a store written before the table was added.
  RawSql(path, "DROP TRIGGER traces_follow_decisions; DROP TABLE traces");
  CHECK(CountSql(path, "SELECT count(*) FROM sqlite_master WHERE name = 'traces'") == 0);
  {
    auto v = VerifyAuditStore(path);  // a reader: reads '' for the missing columns
    REQUIRE(v.ok());
    CHECK_MESSAGE(v->ok, v->problem);
    CHECK(v->records == 5);
  }
  {
    auto sink = OpenSink({.path = path});  // the writer adds the table
    REQUIRE(sink->Submit(Traced("new-1")).ok());
    REQUIRE(sink->Submit(Rec("new-2")).ok());
    REQUIRE(sink->Close().ok());
  }
  CHECK(CountSql(path, "SELECT count(*) FROM traces WHERE traceparent = '" + std::string(kParent) + "'") == 1);
  auto v = VerifyAuditStore(path);
  REQUIRE(v.ok());
  CHECK_MESSAGE(v->ok, v->problem);
  CHECK(v->records == 7);

  // Editing a recorded trace context breaks the chain at that record.
  RawSql(path, "UPDATE traces SET tracestate = 'forged=1' WHERE seq = 6");
  auto forged = VerifyAuditStore(path);
  REQUIRE(forged.ok());
  CHECK_FALSE(forged->ok);
  CHECK(forged->bad_seq == 6);
  // And so does deleting it; deleting the decision takes its trace along.
  RawSql(path, "UPDATE traces SET tracestate = 'congo=t61rcWkgMzE' WHERE seq = 6");
  REQUIRE(VerifyAuditStore(path)->ok);
  RawSql(path, "DELETE FROM traces WHERE seq = 6");
  CHECK_FALSE(VerifyAuditStore(path)->ok);
  RawSql(path, "INSERT INTO traces VALUES (6, '" + std::string(kParent) + "', 'congo=t61rcWkgMzE')");
  REQUIRE(VerifyAuditStore(path)->ok);
  RawSql(path, "DELETE FROM decisions WHERE seq = 6");
  CHECK(CountSql(path, "SELECT count(*) FROM traces") == 0);
}

TEST_CASE("audit query: decisions by trace id, the context read back whole") {
  test::TempDir dir;
  const std::string path = dir.File("audit.db");
  {
    auto sink = OpenSink({.path = path});
    REQUIRE(sink->Submit(Rec("a")).ok());
    REQUIRE(sink->Submit(Traced("b")).ok());
    REQUIRE(sink->Submit(Rec("c")).ok());
    REQUIRE(sink->Close().ok());
  }
  auto q = AuditQuery::Open(path);
  REQUIRE(q.ok());
  auto page = (*q)->Page({.trace_id = kTraceId}, 10);
  REQUIRE(page.ok());
  REQUIRE(page->rows.size() == 1);
  CHECK(page->rows[0].record.id == "b");
  CHECK(page->rows[0].record.traceparent == kParent);
  CHECK(page->rows[0].record.tracestate == "congo=t61rcWkgMzE");
  CHECK(JsonLine(page->rows[0]).find("\"traceparent\":\"" + std::string(kParent) + "\"") != std::string::npos);
  auto none = (*q)->Page({.trace_id = "0af7651916cd43dd8448eb211c80319c"}, 10);
  REQUIRE(none.ok());
  CHECK(none->rows.empty());
  // A record without trace context exports as it always did.
  auto all = (*q)->Page({}, 10);
  REQUIRE(all.ok());
  CHECK(JsonLine(all->rows[0]).find("trace") == std::string::npos);
}

}  // namespace
}  // namespace tosgate::storage
