// A fleet's PostgreSQL trail with an anchor file per instance (the chain
// head, unsigned), and the same field bounds as the SQLite store.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "storage/audit/anchor.h"
#include "storage/audit/fields.h"
#include "storage/audit/reader.h"
#include "storage/audit/postgres/sink.h"
#include "storage/audit/postgres/verify.h"
#include "storage/audit/sqlite/sink.h"
#include "temp_dir.h"
#include "tests/storage/postgres_audit_fixture.h"

namespace tosgate::storage {
namespace {

engine::AuditRecord Rec(int i) {
  engine::AuditRecord r;
  r.id = "d" + std::to_string(i);
  r.time_ms = test::kFleetT0 + i;
  r.account = "acct_" + std::to_string(i % 3);
  r.method = "POST";
  r.path = "/v1/chat/completions";
  r.effect = Effect::kAllow;
  r.status = 200;
  return r;
}

PostgresAuditOptions Opts(const std::string& dsn, const std::string& anchor) {
  PostgresAuditOptions o;
  o.dsn = dsn;
  o.instance = "gw-1";
  o.connect_timeout = std::chrono::seconds(2);
  o.anchor = std::make_shared<AnchorFile>(anchor);
  o.anchor_every = 5;
  return o;
}

void Write(const PostgresAuditOptions& o, int from, int to) {
  auto s = PostgresAuditSink::Open(o);
  REQUIRE_MESSAGE(s.ok(), s.status().message());
  for (int i = from; i <= to; ++i) REQUIRE((*s)->Submit(Rec(i)).ok());
  REQUIRE((*s)->Close().ok());
}

FleetVerdict Verify(const std::string& dsn, const AuditCheckpoint* anchor) {
  auto v = VerifyPostgresAuditStore(dsn, {.anchor = anchor});
  REQUIRE_MESSAGE(v.ok(), v.status().ToString());
  return std::move(v).value();
}

TEST_CASE("PostgreSQL audit: the chain head goes to the anchor file; an intact chain verifies") {
  auto* pg = test::SharedPostgres();
  if (!pg) return;
  test::TempDir dir;
  const std::string dsn = test::FreshAuditDb(*pg), anchor = dir.File("gw-1.json");
  Write(Opts(dsn, anchor), 1, 12);
  auto a = ReadAnchorFile(anchor);
  REQUIRE_MESSAGE(a.ok(), a.status().ToString());
  CHECK(a->store == "postgres");
  CHECK(a->instance == "gw-1");
  CHECK(a->seq == 12);  // at Close
  CHECK(a->signature.empty());
  const FleetVerdict v = Verify(dsn, &*a);
  CHECK(v.ok);
  REQUIRE(!v.notes.empty());
  CHECK(v.notes[0].find("checked against its anchor (seq 12)") != std::string::npos);
  Write(Opts(dsn, anchor), 13, 14);  // reopens against its anchor, then moves it on
  CHECK(ReadAnchorFile(anchor)->seq == 14);
}

TEST_CASE("PostgreSQL audit: a cut tail fails against the anchor and stops the gateway") {
  auto* pg = test::SharedPostgres();
  if (!pg) return;
  test::TempDir dir;
  const std::string dsn = test::FreshAuditDb(*pg), anchor = dir.File("gw-1.json");
  Write(Opts(dsn, anchor), 1, 12);
  const AuditCheckpoint a = ReadAnchorFile(anchor).value();
  auto c = test::ConnectOrFail(dsn);
  test::Exec(c.get(), "DELETE FROM tosgate_decisions WHERE seq > 8");

  CHECK(Verify(dsn, nullptr).ok);  // link by link, nothing is missing
  const FleetVerdict v = Verify(dsn, &a);
  CHECK(!v.ok);
  REQUIRE(v.instances.size() == 1);
  CHECK_MESSAGE(v.instances[0].verdict.problem.find(
                    "the chain ends at seq 8, before the anchored seq 12") != std::string::npos,
                v.instances[0].verdict.problem);

  auto reopened = PostgresAuditSink::Open(Opts(dsn, anchor));
  REQUIRE(!reopened.ok());
  CHECK_MESSAGE(
      reopened.status().message().find("does not match its anchor file") != std::string::npos,
      reopened.status().message());

  test::Exec(c.get(), "DELETE FROM tosgate_decisions");
  const FleetVerdict gone = Verify(dsn, &a);
  CHECK(!gone.ok);
  REQUIRE(gone.instances.size() == 1);
  CHECK(gone.instances[0].verdict.problem.find("the anchored chain was deleted") !=
        std::string::npos);
}

TEST_CASE("PostgreSQL audit: a chain rewritten and recomputed fails against the anchor") {
  auto* pg = test::SharedPostgres();
  if (!pg) return;
  test::TempDir dir;
  const std::string dsn = test::FreshAuditDb(*pg), anchor = dir.File("gw-1.json");
  Write(Opts(dsn, anchor), 1, 10);
  const AuditCheckpoint a = ReadAnchorFile(anchor).value();
  auto c = test::ConnectOrFail(dsn);
  test::Exec(c.get(), "DELETE FROM tosgate_decisions");
  std::vector<AuditRow> forged;
  for (int i = 1; i <= 10; ++i) forged.push_back(ToAuditRow(Rec(i)));
  forged[2].account = "someone-else";
  test::InsertChain(c.get(), "gw-1", forged);

  CHECK(Verify(dsn, nullptr).ok);
  const FleetVerdict v = Verify(dsn, &a);
  CHECK(!v.ok);
  CHECK_MESSAGE(
      v.instances[0].verdict.problem.find("does not have the anchored hash") != std::string::npos,
      v.instances[0].verdict.problem);
}

TEST_CASE("PostgreSQL and SQLite stores bound a 100 KB model and path the same way") {
  auto* pg = test::SharedPostgres();
  if (!pg) return;
  engine::AuditRecord r = Rec(1);
  r.model = std::string(100 * 1024, 'm');
  r.path = "/v1/" + std::string(100 * 1024, 'p');
  r.request_id = std::string(3000, 'r');

  const std::string dsn = test::FreshAuditDb(*pg);
  {
    PostgresAuditOptions o;
    o.dsn = dsn;
    o.instance = "gw-1";
    auto s = PostgresAuditSink::Open(o);
    REQUIRE(s.ok());
    REQUIRE((*s)->Submit(r).ok());
    REQUIRE((*s)->Close().ok());
  }
  test::TempDir dir;
  const std::string db = dir.File("a.db");
  {
    auto s = SqliteAuditSink::Open({.path = db});
    REQUIRE(s.ok());
    REQUIRE((*s)->Submit(r).ok());
    REQUIRE((*s)->Close().ok());
  }
  DecisionQuery all;
  all.limit = 0;
  auto rows = ReadDecisions(db, all);
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 1);
  const AuditRow& lite = (*rows)[0].record;
  auto c = test::ConnectOrFail(dsn);
  CHECK(test::Exec(c.get(), "SELECT model FROM tosgate_decisions") == lite.model);
  CHECK(test::Exec(c.get(), "SELECT path FROM tosgate_decisions") == lite.path);
  CHECK(test::Exec(c.get(), "SELECT request_id FROM tosgate_decisions") == lite.request_id);
  CHECK(lite.model.size() <= kAuditTextMax);
  CHECK(lite.model.find("\xe2\x80\xa6[+") != std::string::npos);
  CHECK(lite.path.size() <= kAuditPathMax);
  CHECK(Verify(dsn, nullptr).ok);
}

}  // namespace
}  // namespace tosgate::storage
