#include "storage/audit/query.h"

#include <doctest/doctest.h>
#include <sqlite3.h>

#include <algorithm>
#include <set>

#include "storage/audit/sqlite/sink.h"
#include "temp_dir.h"

namespace tosgate::storage {
namespace {

using test::TempDir;

constexpr int64_t kT0 = 1764331200000;  // 2025-11-28T12:00:00Z
constexpr int64_t kHour = 3600000;

engine::AuditRecord Rec(std::string account, int64_t time_ms, Effect effect = Effect::kAllow,
                        std::vector<std::string> rules = {}, std::string reason = "") {
  engine::AuditRecord r;
  r.id = account + "@" + std::to_string(time_ms);
  r.account = std::move(account);
  r.org = "org-" + r.account.substr(0, 1);
  r.time_ms = time_ms;
  r.effect = effect;
  r.rule_ids = std::move(rules);
  r.reason = std::move(reason);
  return r;
}

std::string Fill(const TempDir& dir, const std::vector<engine::AuditRecord>& records) {
  const std::string path = dir.File("audit.db");
  auto sink = SqliteAuditSink::Open({.path = path});
  REQUIRE_MESSAGE(sink.ok(), sink.status().ToString());
  for (const auto& r : records) REQUIRE((*sink)->Submit(r).ok());
  REQUIRE((*sink)->Close().ok());
  return path;
}

// Replaces the rule_ids text of record `id` in the store at `path`: a row
// no tosgate writes today (an older version's, or an edited one).
void SetRuleIdsText(const std::string& path, const std::string& id, const std::string& text) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "UPDATE decisions SET rule_ids = ? WHERE id = ?", -1, &st, nullptr) ==
          SQLITE_OK);
  sqlite3_bind_text(st, 1, text.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, id.c_str(), -1, SQLITE_TRANSIENT);
  CHECK(sqlite3_step(st) == SQLITE_DONE);
  CHECK(sqlite3_changes(db) == 1);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

std::unique_ptr<AuditQuery> OpenQuery(const std::string& path) {
  auto q = AuditQuery::Open(path, {.ensure_indexes = true});
  REQUIRE_MESSAGE(q.ok(), q.status().ToString());
  return std::move(q.value());
}

std::vector<std::string> Ids(AuditQuery& q, const AuditFilter& f) {
  std::vector<std::string> ids;
  REQUIRE(q.ForEach(f, [&](const StoredDecision& d) {
             ids.push_back(d.record.id);
             return true;
           }).ok());
  return ids;
}

TEST_CASE("each filter narrows by exact value and the time range is [since, until)") {
  TempDir dir;
  auto q = OpenQuery(Fill(
      dir,
      {Rec("alice", kT0, Effect::kAllow),
       Rec("alice", kT0 + 10, Effect::kDeny, {"purpose.x"}, "purpose"),
       Rec("alicia", kT0 + 20, Effect::kDeny),
       Rec("bob", kT0 + 30, Effect::kThrottle, {"rate.a"}, "rate-limited"),
       Rec("alice", kT0 + 40, Effect::kThrottle, {"rate.a", "purpose.x"}, "rate-limited")}));
  CHECK(Ids(*q, {.account = "alice"}) ==
        std::vector<std::string>{"alice@" + std::to_string(kT0),
                                 "alice@" + std::to_string(kT0 + 10),
                                 "alice@" + std::to_string(kT0 + 40)});
  CHECK(Ids(*q, {.org = "org-b"}).size() == 1);
  CHECK(Ids(*q, {.effect = "deny"}).size() == 2);
  CHECK(Ids(*q, {.reason = "rate-limited"}).size() == 2);
  CHECK(Ids(*q, {.account = "alice", .effect = "throttle"}).size() == 1);
  CHECK(Ids(*q, {.since_ms = kT0 + 10, .until_ms = kT0 + 30}) ==
        std::vector<std::string>{"alice@" + std::to_string(kT0 + 10),
                                 "alicia@" + std::to_string(kT0 + 20)});
  CHECK(Ids(*q, {.account = "ali"}).empty());  // no prefix match
  auto n = q->Count({.account = "alice"});
  REQUIRE(n.ok());
  CHECK(*n == 3);
}

TEST_CASE("a rule filter matches whole elements of rule_ids, not substrings") {
  TempDir dir;
  const std::string path = Fill(
      dir, {Rec("a", kT0, Effect::kDeny, {"rate.a"}), Rec("b", kT0 + 1, Effect::kDeny, {"rate.ab"}),
            Rec("c", kT0 + 2, Effect::kDeny, {"x.rate.a", "rate.a"}),
            Rec("d", kT0 + 3, Effect::kDeny, {"rate"}), Rec("e", kT0 + 4, Effect::kDeny),
            Rec("f", kT0 + 5, Effect::kDeny)});
  SetRuleIdsText(path, "e@" + std::to_string(kT0 + 4), "not json [\"rate.a\"]");
  SetRuleIdsText(path, "f@" + std::to_string(kT0 + 5), R"([{"rate.a":1}])");
  auto q = OpenQuery(path);
  auto ids = Ids(*q, {.rule = "rate.a"});
  REQUIRE(ids.size() == 2);
  CHECK(ids[0].rfind("a@", 0) == 0);
  CHECK(ids[1].rfind("c@", 0) == 0);
  CHECK(Ids(*q, {.rule = "rate"}).size() == 1);
  CHECK(Ids(*q, {.rule = "rate%"}).empty());
  CHECK(Ids(*q, {.rule = "rate._"}).empty());
}

TEST_CASE("SQL metacharacters in filters are data") {
  TempDir dir;
  const std::string evil = "x' OR '1'='1";
  auto q = OpenQuery(Fill(dir, {Rec("a", kT0), Rec(evil, kT0 + 1), Rec("b%", kT0 + 2),
                                Rec("c\"; DROP TABLE decisions; --", kT0 + 3)}));
  CHECK(Ids(*q, {.account = evil}).size() == 1);
  CHECK(Ids(*q, {.account = "%"}).empty());
  CHECK(Ids(*q, {.account = "b%"}).size() == 1);
  CHECK(Ids(*q, {.reason = "' OR 1=1 --"}).empty());
  CHECK(Ids(*q, {.rule = "\") OR 1=1 --"}).empty());
  CHECK(Ids(*q, {.account = "c\"; DROP TABLE decisions; --"}).size() == 1);
  CHECK(Ids(*q, {}).size() == 4);
}

TEST_CASE("pages cover every match once, in (time, seq) order, with ties on time") {
  TempDir dir;
  std::vector<engine::AuditRecord> recs;
  // 3 records per millisecond, so page boundaries fall inside a tie.
  for (int i = 0; i < 100; ++i) {
    auto r = Rec(i % 4 == 0 ? "other" : "acct", kT0 + i / 3);
    r.id = "r" + std::to_string(i);
    recs.push_back(r);
  }
  auto q = OpenQuery(Fill(dir, recs));
  for (size_t limit : {1u, 2u, 7u, 75u, 200u}) {
    CAPTURE(limit);
    std::vector<std::string> seen;
    std::optional<AuditCursor> after;
    int pages = 0;
    do {
      auto page = q->Page({.account = "acct"}, limit, after);
      REQUIRE(page.ok());
      CHECK(page->rows.size() <= limit);
      for (const auto& d : page->rows) seen.push_back(d.record.id);
      if (page->next) {
        // The cursor survives its trip through text.
        auto back = DecodeCursor(EncodeCursor(*page->next));
        REQUIRE(back.ok());
        CHECK(back->seq == page->next->seq);
        CHECK(back->time_ms == page->next->time_ms);
        after = *back;
      } else {
        after.reset();
      }
      ++pages;
    } while (after && pages < 1000);
    CHECK(seen == Ids(*q, {.account = "acct"}));
    CHECK(seen.size() == 75);
    CHECK(std::set<std::string>(seen.begin(), seen.end()).size() == 75);
    CHECK(pages == static_cast<int>((75 + limit - 1) / limit));
  }
  CHECK_FALSE(DecodeCursor("c1zz").ok());
  CHECK_FALSE(DecodeCursor("' OR 1=1").ok());
  CHECK_FALSE(q->Page({}, 0).ok());
}

TEST_CASE("an account over a time range is read through the (account, time_ms) index") {
  TempDir dir;
  auto q = OpenQuery(Fill(dir, {Rec("a", kT0)}));
  auto plan = q->Plan({.account = "a", .since_ms = kT0, .until_ms = kT0 + 86400000});
  REQUIRE(plan.ok());
  CHECK(plan->find("decisions_account_time") != std::string::npos);
  CHECK(plan->find("TEMP B-TREE") == std::string::npos);  // no sort
  auto org = q->Plan({.org = "o", .since_ms = kT0});
  REQUIRE(org.ok());
  CHECK(org->find("decisions_org_time") != std::string::npos);
}

TEST_CASE("stats count decisions per effect per hour, hours aligned to UTC") {
  TempDir dir;
  auto q = OpenQuery(
      Fill(dir, {Rec("a", kT0 + 5, Effect::kAllow), Rec("a", kT0 + kHour - 1, Effect::kAllow),
                 Rec("a", kT0 + 10, Effect::kDeny), Rec("a", kT0 + kHour, Effect::kAllow),
                 Rec("a", kT0 + 3 * kHour + 7, Effect::kThrottle),
                 Rec("a", kT0 + 5 * kHour, Effect::kDeny)}));
  auto s = q->Stats({.since_ms = kT0, .until_ms = kT0 + 5 * kHour});
  REQUIRE(s.ok());
  REQUIRE(s->size() == 4);
  CHECK((*s)[0].hour_ms == kT0);
  CHECK((*s)[0].effect == "allow");
  CHECK((*s)[0].count == 2);
  CHECK((*s)[1].hour_ms == kT0);
  CHECK((*s)[1].effect == "deny");
  CHECK((*s)[1].count == 1);
  CHECK((*s)[2].hour_ms == kT0 + kHour);
  CHECK((*s)[3].hour_ms == kT0 + 3 * kHour);
  CHECK((*s)[3].effect == "throttle");
}

TEST_CASE("CSV quotes fields with commas, quotes and newlines; JSON lines embed arrays") {
  StoredDecision d;
  d.seq = 7;
  d.hash = std::string("\x01\xab", 2);
  d.record.id = "plain";
  d.record.account = "a,b";
  d.record.reason = "say \"hi\"";
  d.record.model = "line1\nline2";
  d.record.rule_ids = R"(["r1","r2"])";
  d.record.matches = "[]";
  d.record.effect = "deny";
  d.record.risk = 0.5;
  const std::string row = CsvRow(d);
  CHECK(row.rfind("7,plain,0,,\"a,b\",", 0) == 0);
  CHECK(
      row.find(
          ",\"line1\nline2\",deny,1,200,\"say \"\"hi\"\"\",\"[\"\"r1\"\",\"\"r2\"\"]\",[],0.5,") !=
      std::string::npos);
  CHECK(row.substr(row.size() - 7) == ",01ab\r\n");
  const std::string header = CsvHeader();
  CHECK(std::count(header.begin(), header.end(), ',') == 23);

  const std::string line = JsonLine(d);
  CHECK(line.back() == '\n');
  CHECK(std::count(line.begin(), line.end(), '\n') == 1);
  CHECK(line.find(R"("rule_ids":["r1","r2"])") != std::string::npos);
  CHECK(line.find(R"("model":"line1\nline2")") != std::string::npos);
  CHECK(line.find(R"("reason":"say \"hi\"")") != std::string::npos);
  d.record.rule_ids = "oops";
  CHECK(JsonLine(d).find(R"("rule_ids":"oops")") != std::string::npos);
}

TEST_CASE("times: RFC 3339 with offsets and fractions, dates, epoch ms; junk refused") {
  CHECK(ParseAuditTime("2025-11-28T12:00:00Z").value() == kT0);
  CHECK(ParseAuditTime("2025-11-28T13:00:00.250+01:00").value() == kT0 + 250);
  CHECK(ParseAuditTime("2025-11-28").value() == kT0 - 12 * kHour);
  CHECK(ParseAuditTime("1764331200000").value() == kT0);
  CHECK(FormatAuditTime(kT0 + 250) == "2025-11-28T12:00:00.250Z");
  CHECK(ParseAuditTime("2024-02-29T00:00:00Z").ok());
  for (const char* bad : {"", "yesterday", "2025-02-29", "2025-11-28T12:00:00", "2025-13-01",
                          "2025-11-28T25:00:00Z", "12e5", "-5", "2025-11-28T12:00:00Zjunk"}) {
    CAPTURE(bad);
    CHECK_FALSE(ParseAuditTime(bad).ok());
  }
}

TEST_CASE("opening refuses a missing file and a database that is not an audit store") {
  TempDir dir;
  CHECK(AuditQuery::Open(dir.File("nope.db")).status().code() == Status::Code::kNotFound);
  const std::string junk = dir.Write("junk.db", std::string(4096, 'x'));
  CHECK(AuditQuery::Open(junk).status().code() == Status::Code::kInvalidArgument);
  const std::string other = dir.File("other.db");
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(other.c_str(), &db) == SQLITE_OK);
  sqlite3_exec(db, "CREATE TABLE t (x)", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  auto r = AuditQuery::Open(other);
  CHECK(r.status().code() == Status::Code::kInvalidArgument);
  CHECK(r.status().message().find("not a tosgate audit store") != std::string::npos);
}

}  // namespace
}  // namespace tosgate::storage
