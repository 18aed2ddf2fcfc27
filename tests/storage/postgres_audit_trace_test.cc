// The W3C trace context and cost budgets' costs in the PostgreSQL fleet
// store, as in SQLite's (audit_trace_test.cc, audit_cost_test.cc): kept in
// tosgate_traces and tosgate_costs with their record (by COPY and by
// INSERT), covered by the instance's chain, found by trace id; a store made
// before the tables reads as empty, verifies, and gains them when a gateway
// next opens it.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "storage/audit/postgres/query.h"
#include "storage/audit/postgres/sink.h"
#include "storage/audit/postgres/verify.h"
#include "tests/storage/postgres_audit_fixture.h"

namespace tosgate::storage {
namespace {

constexpr char kParent[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
constexpr char kTraceId[] = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr char kState[] = "congo=t61rcWkgMzE";

engine::AuditRecord Rec(const std::string& id, bool traced) {
  engine::AuditRecord r;
  r.id = id;
  r.time_ms = test::kFleetT0;
  r.account = "acct-1";
  r.method = "POST";
  r.path = "/v1/chat/completions";
  r.effect = Effect::kAllow;
  r.status = 200;
  if (traced) {
    r.traceparent = kParent;
    r.tracestate = kState;
  }
  return r;
}

// Writes `ids` as `instance` (the odd ones traced, if `traced`) and closes
// the sink.
void Write(const std::string& dsn, const std::string& instance, bool use_copy,
           const std::vector<std::string>& ids, bool traced = true) {
  PostgresAuditOptions o;
  o.dsn = dsn;
  o.instance = instance;
  o.use_copy = use_copy;
  o.connect_timeout = std::chrono::seconds(2);
  auto sink = PostgresAuditSink::Open(o);
  REQUIRE_MESSAGE(sink.ok(), sink.status().ToString());
  for (size_t i = 0; i < ids.size(); ++i) REQUIRE((*sink)->Submit(Rec(ids[i], traced && i % 2 == 1)).ok());
  REQUIRE((*sink)->Close().ok());
}

// The ids of the decisions whose traceparent carries `trace_id`, and their
// trace context as read back.
std::vector<std::string> ByTrace(const std::string& dsn, const std::string& trace_id,
                                 std::vector<std::string>* contexts = nullptr) {
  auto q = PostgresAuditQuery::Open(dsn);
  REQUIRE_MESSAGE(q.ok(), q.status().ToString());
  AuditFilter f;
  f.trace_id = trace_id;
  auto page = (*q)->Page(f, 100, std::nullopt);
  REQUIRE_MESSAGE(page.ok(), page.status().ToString());
  std::vector<std::string> ids;
  for (const StoredDecision& d : page->rows) {
    ids.push_back(d.record.id);
    if (contexts) contexts->push_back(d.record.traceparent + " " + d.record.tracestate);
  }
  return ids;
}

bool Verifies(const std::string& dsn) {
  auto v = VerifyPostgresAuditStore(dsn, {});
  REQUIRE_MESSAGE(v.ok(), v.status().ToString());
  return v->ok;
}

TEST_CASE("PostgreSQL audit: trace context is kept with its record, chained, and found by id") {
  auto* pg = test::SharedPostgres();
  if (!pg) return;
  const std::string dsn = test::FreshAuditDb(*pg);
  Write(dsn, "gw-copy", true, {"c-1", "c-2", "c-3", "c-4"});
  Write(dsn, "gw-insert", false, {"i-1", "i-2", "i-3"});

  std::vector<std::string> contexts;
  const std::vector<std::string> ids = ByTrace(dsn, kTraceId, &contexts);
  CHECK(ids == std::vector<std::string>{"c-2", "c-4", "i-2"});
  for (const std::string& c : contexts) CHECK(c == std::string(kParent) + " " + kState);
  CHECK(ByTrace(dsn, "0af7651916cd43dd8448eb211c80319c").empty());
  auto conn = test::ConnectOrFail(dsn);
  CHECK(test::Exec(conn.get(), "SELECT count(*) FROM tosgate_traces") == "3");
  CHECK(Verifies(dsn));

  // The chain covers the trace context: an edited one fails verification.
  test::Exec(conn.get(), "UPDATE tosgate_traces SET tracestate = 'congo=forged' "
                         "WHERE instance = 'gw-insert'");
  CHECK_FALSE(Verifies(dsn));
}

TEST_CASE("PostgreSQL audit: a store from before tosgate_traces and tosgate_costs verifies, then gains them") {
  auto* pg = test::SharedPostgres();
  if (!pg) return;
  const std::string dsn = test::FreshAuditDb(*pg);
  Write(dsn, "gw-old", true, {"o-1", "o-2", "o-3"}, false);
  // As a store written before the table was added.
  auto conn = test::ConnectOrFail(dsn);
  test::Exec(conn.get(), "DROP TABLE tosgate_traces");
  test::Exec(conn.get(), "DROP TABLE tosgate_costs");
  CHECK(test::Exec(conn.get(), "SELECT to_regclass('tosgate_traces') IS NULL") == "t");
  CHECK(ByTrace(dsn, kTraceId).empty());
  CHECK(Verifies(dsn));

  // A gateway opening the store creates the table and keeps trace context.
  Write(dsn, "gw-new", true, {"n-1", "n-2"});
  CHECK(test::Exec(conn.get(), "SELECT to_regclass('tosgate_traces') IS NULL") == "f");
  CHECK(test::Exec(conn.get(), "SELECT to_regclass('tosgate_costs') IS NULL") == "f");
  CHECK(ByTrace(dsn, kTraceId) == std::vector<std::string>{"n-2"});
  CHECK(Verifies(dsn));
}

TEST_CASE("PostgreSQL audit: reserved and settled costs are kept with their record and chained") {
  auto* pg = test::SharedPostgres();
  if (!pg) return;
  const std::string dsn = test::FreshAuditDb(*pg);
  for (const bool copy : {true, false}) {
    PostgresAuditOptions o;
    o.dsn = dsn;
    o.instance = copy ? "gw-copy" : "gw-insert";
    o.use_copy = copy;
    o.connect_timeout = std::chrono::seconds(2);
    auto sink = PostgresAuditSink::Open(o);
    REQUIRE_MESSAGE(sink.ok(), sink.status().ToString());
    engine::AuditRecord admitted = Rec(o.instance + "-admitted", false);
    admitted.cost_reserved_nano = 1'250'000;  // reserved at admission, not settled yet
    engine::AuditRecord usage = Rec(o.instance + "-usage", true);
    usage.cost_reserved_nano = 1'250'000;
    usage.cost_settled_nano = 0;  // settled at nothing: a real value, not "none"
    REQUIRE((*sink)->Submit(admitted).ok());
    REQUIRE((*sink)->Submit(Rec(o.instance + "-plain", false)).ok());
    REQUIRE((*sink)->Submit(usage).ok());
    REQUIRE((*sink)->Close().ok());
  }
  auto q = PostgresAuditQuery::Open(dsn);
  REQUIRE(q.ok());
  auto page = (*q)->Page({}, 100, std::nullopt);
  REQUIRE(page.ok());
  REQUIRE(page->rows.size() == 6);
  for (const StoredDecision& d : page->rows) {
    const AuditRow& r = d.record;
    CAPTURE(r.id);
    const bool admitted = r.id.ends_with("-admitted"), usage = r.id.ends_with("-usage");
    CHECK(r.cost_reserved_nano == (admitted || usage ? 1'250'000 : -1));
    CHECK(r.cost_settled_nano == (usage ? 0 : -1));
    CHECK(r.traceparent == (usage ? kParent : ""));
  }
  auto conn = test::ConnectOrFail(dsn);
  CHECK(test::Exec(conn.get(), "SELECT count(*) FROM tosgate_costs") == "4");
  CHECK(Verifies(dsn));
  test::Exec(conn.get(), "UPDATE tosgate_costs SET settled = 1 WHERE settled = 0 "
                         "AND instance = 'gw-copy'");
  CHECK_FALSE(Verifies(dsn));
}

}  // namespace
}  // namespace tosgate::storage
