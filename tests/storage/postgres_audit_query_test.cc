// The PostgreSQL audit read side against a real server: pages across
// instances with the cursor, filters as bound parameters, streaming past a
// fetch, stats, the export formats' instance column, per-instance verify.
#include "storage/audit/postgres/query.h"

#include <doctest/doctest.h>

#include <set>

#include "storage/audit/query.h"
#include "storage/audit/postgres/verify.h"
#include "storage/audit/sqlite/sink.h"
#include "tests/storage/postgres_audit_fixture.h"
#include "tests/storage/temp_dir.h"

namespace tosgate::storage {
namespace {

using test::FleetIds;
using test::FleetInstances;
using test::kFleetPerInstance;
using test::kFleetT0;
using test::kOddAccount;

std::unique_ptr<PostgresAuditQuery> OpenOrFail(const std::string& dsn) {
  auto q = PostgresAuditQuery::Open(dsn);
  REQUIRE_MESSAGE(q.ok(), q.status().ToString());
  return std::move(q.value());
}

std::vector<std::string> Ids(AuditReadStore& q, const AuditFilter& f) {
  std::vector<std::string> ids;
  const Status s = q.ForEach(f, [&](const StoredDecision& d) {
    ids.push_back(d.record.id);
    return true;
  });
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  return ids;
}

auto All() {
  return [](const std::string&, const AuditRow&) { return true; };
}

TEST_CASE(
    "PostgresAuditQuery pages across instances in (time_ms, instance, seq) order, each row once") {
  auto* pg = test::SharedPostgres();
  if (!pg) return;
  const std::string dsn = test::FreshAuditDb(*pg);
  test::InsertFleet(dsn);
  auto q = OpenOrFail(dsn);
  CHECK(q->fleet());

  std::vector<std::string> ids;
  std::set<std::pair<std::string, uint64_t>> seen;
  std::optional<AuditCursor> after;
  int pages = 0;
  do {
    auto page = q->Page({}, 7, after);
    REQUIRE_MESSAGE(page.ok(), page.status().ToString());
    for (const StoredDecision& d : page->rows) {
      ids.push_back(d.record.id);
      CHECK(seen.insert({d.instance, d.seq}).second);
    }
    after.reset();
    if (page->next) {
      // The cursor names the instance, and survives the command line.
      CHECK(page->next->instance == page->rows.back().instance);
      const std::string token = EncodeCursor(*page->next);
      CHECK(token.substr(0, 2) == "c2");
      auto back = DecodeCursor(token);
      REQUIRE(back.ok());
      after = *back;
    }
    ++pages;
  } while (after && pages < 100);
  CHECK(pages == (3 * kFleetPerInstance + 6) / 7);
  CHECK(ids == FleetIds(All()));

  // The rows read back are the records written, instance included.
  auto first = q->Page({.instance = FleetInstances()[2]}, 12);
  REQUIRE(first.ok());
  REQUIRE(first->rows.size() == 12);
  const StoredDecision& d = first->rows[11];
  const AuditRow want = test::FleetRow(2, 11);
  CHECK(d.instance == FleetInstances()[2]);
  CHECK(d.seq == 12);
  CHECK(d.record.account == want.account);
  CHECK(d.record.latency_us == want.latency_us);
  CHECK(std::isnan(d.record.risk));
  CHECK(d.hash.size() == 32);
  CHECK(first->rows[10].record.risk == test::FleetRow(2, 10).risk);
  CHECK(first->rows[0].prev_hash == AuditGenesisHash());
}

TEST_CASE("PostgresAuditQuery filters are bound parameters: SQL metacharacters are plain data") {
  auto* pg = test::SharedPostgres();
  if (!pg) return;
  const std::string dsn = test::FreshAuditDb(*pg);
  test::InsertFleet(dsn);
  auto q = OpenOrFail(dsn);

  const auto odd =
      FleetIds([](auto&, const AuditRow& r) { return r.account == kOddAccount; });
  CHECK(odd.size() == 15);
  CHECK(Ids(*q, {.account = kOddAccount}) == odd);
  CHECK(Ids(*q, {.account = "%"}).empty());
  CHECK(Ids(*q, {.account = "acct_1' OR '1'='1"}).empty());
  CHECK(Ids(*q, {.instance = FleetInstances()[2]}) ==
        FleetIds([](const std::string& inst, auto&) { return inst == FleetInstances()[2]; }));
  CHECK(Ids(*q, {.instance = "gw-%"}).empty());

  // Whole rule ids only: not purpose.x.y, not a prefix; rule_ids that are
  // not JSON match nothing and do not break the query.
  const auto denies =
      FleetIds([](auto&, const AuditRow& r) { return r.effect == "deny"; });
  CHECK(denies.size() == 12);
  CHECK(Ids(*q, {.rule = "purpose.x"}) == denies);
  CHECK(Ids(*q, {.rule = "purpose.x.y"}).size() == 3);
  CHECK(Ids(*q, {.rule = "purpose"}).empty());
  CHECK(Ids(*q, {.rule = "oops"}).empty());
  CHECK(Ids(*q, {.rule = "purpose.x\"]'; --"}).empty());

  const AuditFilter window{.org = "org_0",
                           .effect = "allow",
                           .since_ms = kFleetT0 + 600000,
                           .until_ms = kFleetT0 + 4 * 600000,
                           .instance = FleetInstances()[1]};
  const auto want = FleetIds([&](const std::string& inst, const AuditRow& r) {
    return inst == window.instance && r.org == "org_0" && r.effect == "allow" &&
           r.time_ms >= *window.since_ms && r.time_ms < *window.until_ms;
  });
  CHECK_FALSE(want.empty());
  CHECK(Ids(*q, window) == want);
  CHECK(Ids(*q, {.reason = "purpose, \"training\""}) == denies);

  auto n = q->Count({.account = kOddAccount});
  REQUIRE(n.ok());
  CHECK(*n == odd.size());
  auto all = q->Count({});
  REQUIRE(all.ok());
  CHECK(*all == 3 * kFleetPerInstance);  // nothing dropped
}

TEST_CASE("PostgresAuditQuery::ForEach streams past a fetch and can stop early") {
  auto* pg = test::SharedPostgres();
  if (!pg) return;
  const std::string dsn = test::FreshAuditDb(*pg);
  const int kRows = PostgresAuditQuery::kFetchRows * 2 + 500;
  {
    auto c = test::ConnectOrFail(dsn);
    std::vector<AuditRow> rs(kRows);
    for (int i = 0; i < kRows; ++i) {
      rs[i].id = "b" + std::to_string(i);
      rs[i].time_ms = kFleetT0 + i;
      rs[i].effect = "allow";
    }
    test::InsertChain(c.get(), "bulk", rs);
  }
  auto q = OpenOrFail(dsn);
  int n = 0;
  bool ordered = true;
  REQUIRE(q->ForEach({}, [&](const StoredDecision& d) {
             ordered = ordered && d.record.id == "b" + std::to_string(n);
             ++n;
             return true;
           }).ok());
  CHECK(n == kRows);
  CHECK(ordered);

  int seen = 0;
  REQUIRE(q->ForEach({}, [&](const StoredDecision&) { return ++seen < 1500; }).ok());
  CHECK(seen == 1500);
  // The stopped export's transaction is over: the connection still answers.
  auto count = q->Count({.since_ms = kFleetT0 + kRows - 10});
  REQUIRE_MESSAGE(count.ok(), count.status().ToString());
  CHECK(*count == 10);
  n = 0;
  REQUIRE(q->ForEach({}, [&](const StoredDecision&) { return ++n, true; }).ok());
  CHECK(n == kRows);
}

TEST_CASE("PostgresAuditQuery::Stats counts per hour and effect across the fleet") {
  auto* pg = test::SharedPostgres();
  if (!pg) return;
  const std::string dsn = test::FreshAuditDb(*pg);
  test::InsertFleet(dsn);
  auto q = OpenOrFail(dsn);
  auto rows = q->Stats({});
  REQUIRE(rows.ok());
  // Records 0..11 fall in the first hour (i / 2 * 10 min < 60 min).
  std::vector<std::tuple<int64_t, std::string, uint64_t>> got;
  for (const auto& r : *rows) got.emplace_back(r.hour_ms, r.effect, r.count);
  const std::vector<std::tuple<int64_t, std::string, uint64_t>> want{
      {kFleetT0, "allow", 3 * 9},
      {kFleetT0, "deny", 3 * 3},
      {kFleetT0 + 3600000, "allow", 3 * 7},
      {kFleetT0 + 3600000, "deny", 3 * 1}};
  CHECK(got == want);
  auto one = q->Stats({.effect = "deny", .instance = FleetInstances()[0]});
  REQUIRE(one.ok());
  REQUIRE(one->size() == 2);
  CHECK((*one)[0].count == 3);
}

TEST_CASE("export formats carry the instance of a fleet row; an SQLite row's are unchanged") {
  StoredDecision d;
  d.seq = 3;
  d.record.id = "x";
  d.record.effect = "allow";
  const std::string sqlite_json = JsonLine(d);
  const std::string sqlite_csv = CsvRow(d);
  CHECK(sqlite_json.find("instance") == std::string::npos);
  CHECK(sqlite_json.rfind("{\"seq\":3,", 0) == 0);
  CHECK(CsvHeader().rfind("seq,id,", 0) == 0);

  d.instance = "gw-c,'; --";
  CHECK(JsonLine(d).rfind(R"({"instance":"gw-c,'; --","seq":3,)", 0) == 0);
  CHECK(CsvHeader(true).rfind("instance,seq,id,", 0) == 0);
  CHECK(CsvRow(d, true) == "\"gw-c,'; --\"," + sqlite_csv);
  CHECK(CsvRow(d) == sqlite_csv);  // the column only when asked for
}

TEST_CASE("cursor tokens: SQLite's unchanged, a fleet's carry the instance, junk is refused") {
  const std::string c1 = EncodeCursor({.time_ms = kFleetT0, .seq = 42});
  CHECK(c1 == "c10000019aca559e00000000000000002a");
  auto back1 = DecodeCursor(c1);
  REQUIRE(back1.ok());
  CHECK(back1->instance.empty());
  CHECK(back1->seq == 42);

  const AuditCursor fleet{.time_ms = kFleetT0, .seq = 7, .instance = std::string("gw\0,'\xff", 5)};
  const std::string c2 = EncodeCursor(fleet);
  CHECK(c2.rfind("c2", 0) == 0);
  auto back2 = DecodeCursor(c2);
  REQUIRE(back2.ok());
  CHECK(back2->instance == fleet.instance);
  CHECK(back2->time_ms == kFleetT0);
  CHECK(back2->seq == 7);

  for (const std::string& bad :
       {c2.substr(0, c2.size() - 1), c2.substr(0, 34), c2 + "zz", c2.substr(0, 34) + "g0",
        "c2" + std::string(32, '0') + std::string(2 * 257, 'a'), std::string("c3") + c2.substr(2)})
    CHECK_FALSE(DecodeCursor(bad).ok());
}

TEST_CASE("an SQLite store refuses an instance filter and a fleet cursor") {
  test::TempDir dir;
  const std::string path = dir.File("audit.db");
  {
    auto sink = SqliteAuditSink::Open({.path = path});
    REQUIRE(sink.ok());
    REQUIRE((*sink)->Close().ok());
  }
  auto q = AuditQuery::Open(path);
  REQUIRE(q.ok());
  CHECK_FALSE((*q)->fleet());
  CHECK((*q)->Page({.instance = "gw-a"}, 5).status().code() == Status::Code::kInvalidArgument);
  CHECK((*q)->Count({.instance = "gw-a"}).status().code() == Status::Code::kInvalidArgument);
  CHECK(
      (*q)->Page({}, 5, AuditCursor{.time_ms = 1, .seq = 1, .instance = "gw-a"}).status().code() ==
      Status::Code::kInvalidArgument);
  CHECK((*q)->Page({}, 5, AuditCursor{.time_ms = 1, .seq = 1}).ok());
}

TEST_CASE("PostgresAuditQuery::Open: no store, nothing listening") {
  auto* pg = test::SharedPostgres();
  if (!pg) return;
  auto none = PostgresAuditQuery::Open(pg->Dsn());  // the server's own database: no tables
  CHECK(none.status().code() == Status::Code::kNotFound);
  CHECK(none.status().message().find("no tosgate audit store") != std::string::npos);
  const int port = test::FreeLoopbackPorts(1).at(0);
  auto down = PostgresAuditQuery::Open("host=127.0.0.1 port=" + std::to_string(port) +
                                       " user=gw password=s3cret connect_timeout=2");
  CHECK(down.status().code() == Status::Code::kUnavailable);
  CHECK(down.status().message().find("s3cret") == std::string::npos);
}

}  // namespace
}  // namespace tosgate::storage
