// tosgate audit query|export|stats|verify --dsn: the binary against a
// fleet's store in a real PostgreSQL (tests/storage/postgres_audit_fixture.h),
// and the one-line errors for a bad DSN, a refused connection and a wrong
// password.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <sstream>

#include "run_support.h"
#include "storage/audit/query.h"
#include "storage/audit/sqlite/sink.h"
#include "tests/storage/postgres_audit_fixture.h"

namespace {

using tosgate::test::FleetIds;
using tosgate::test::FleetInstances;
using tosgate::test::kFleetPerInstance;
using tosgate::test::RunTosgate;

// Single-quoted for the shell (the DSN has spaces).
std::string Q(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST_CASE("audit query --dsn pages the fleet with --after, each decision once, instance shown") {
  auto* pg = tosgate::test::SharedPostgres();
  if (!pg) return;
  const std::string dsn = tosgate::test::FreshAuditDb(*pg);
  tosgate::test::InsertFleet(dsn);
  std::vector<std::string> ids;
  std::string after;
  int pages = 0;
  do {
    auto r = RunTosgate("audit query --dsn " + Q(dsn) + " --limit 25 --json" +
                        (after.empty() ? "" : " --after " + after));
    REQUIRE_MESSAGE(r.exit_code == 0, r.out);
    auto j = nlohmann::json::parse(r.out);
    for (const auto& d : j["decisions"]) {
      CHECK(d.contains("instance"));
      ids.push_back(d["id"]);
    }
    after = j["next"].is_null() ? "" : j["next"].get<std::string>();
    ++pages;
  } while (!after.empty() && pages < 10);
  CHECK(pages == 3);
  CHECK(ids == FleetIds([](auto&, auto&) { return true; }));

  auto one = RunTosgate("audit query --dsn " + Q(dsn) + " --instance " + Q(FleetInstances()[2]) +
                        " --account " + Q(tosgate::test::kOddAccount) + " --limit 100");
  REQUIRE_MESSAGE(one.exit_code == 0, one.out);
  const auto lines = Lines(one.out);
  REQUIRE(lines.size() == 1 + 5);  // header and instance 2's five rows of that account
  CHECK(lines[0].find("instance") != std::string::npos);
  CHECK(lines[1].find(FleetInstances()[2]) != std::string::npos);
}

TEST_CASE("audit export and stats --dsn; TOSGATE_AUDIT_DSN stands in for --dsn") {
  auto* pg = tosgate::test::SharedPostgres();
  if (!pg) return;
  const std::string dsn = tosgate::test::FreshAuditDb(*pg);
  tosgate::test::InsertFleet(dsn);

  auto csv = RunTosgate("audit export --dsn " + Q(dsn) + " --format csv --rule purpose.x");
  REQUIRE_MESSAGE(csv.exit_code == 0, csv.out);
  CHECK(csv.out.rfind("instance,seq,id,time_ms,", 0) == 0);
  CHECK(std::count(csv.out.begin(), csv.out.end(), '\n') == 1 + 12);
  CHECK(csv.out.find("\r\n\"gw-c,'; --\",1,d2_0,") != std::string::npos);

  auto jsonl = RunTosgate("audit export --dsn " + Q(dsn) + " --format jsonl --instance gw-a:8080");
  REQUIRE_MESSAGE(jsonl.exit_code == 0, jsonl.out);
  const auto rows = Lines(jsonl.out);
  REQUIRE(rows.size() == kFleetPerInstance);
  for (size_t i = 0; i < rows.size(); ++i) {
    auto j = nlohmann::json::parse(rows[i]);
    CHECK(j["instance"] == "gw-a:8080");
    CHECK(j["seq"] == i + 1);
  }

  REQUIRE(setenv("TOSGATE_AUDIT_DSN", dsn.c_str(), 1) == 0);
  auto stats = RunTosgate("audit stats --json");
  auto verify = RunTosgate("audit verify");
  unsetenv("TOSGATE_AUDIT_DSN");
  REQUIRE_MESSAGE(stats.exit_code == 0, stats.out);
  auto j = nlohmann::json::parse(stats.out);
  REQUIRE(j.size() == 2);
  CHECK(j[0]["counts"]["allow"] == 27);
  CHECK(j[0]["counts"]["deny"] == 9);
  CHECK(j[1]["counts"]["allow"] == 21);
  CHECK(verify.exit_code == 0);
  CHECK(verify.out.find("ok: 3 instances, 60 records verified") != std::string::npos);
}

TEST_CASE("audit verify --dsn: a line per instance; a tampered one named with its seq, exit 1") {
  auto* pg = tosgate::test::SharedPostgres();
  if (!pg) return;
  const std::string dsn = tosgate::test::FreshAuditDb(*pg);
  tosgate::test::InsertFleet(dsn);
  auto ok = RunTosgate("audit verify --dsn " + Q(dsn));
  CHECK_MESSAGE(ok.exit_code == 0, ok.out);
  for (const std::string& inst : FleetInstances())
    CHECK(ok.out.find("ok: instance " + inst + ": 20 records (seq 1 to 20)\n") !=
          std::string::npos);
  CHECK(ok.out.find("note: PostgreSQL keeps no signed checkpoints") != std::string::npos);

  auto c = tosgate::test::ConnectOrFail(dsn);
  tosgate::test::Exec(c.get(),
                      "UPDATE tosgate_decisions SET reason = 'fine' WHERE instance = $1 "
                      "AND seq = 12",
                      {FleetInstances()[1]});
  auto bad = RunTosgate("audit verify --dsn " + Q(dsn));
  CHECK(bad.exit_code == 1);
  CHECK(bad.out.find("TAMPERED: instance gw-b:8080 seq 12 (decision d1_11): its contents do not "
                     "match its hash: edited\n") != std::string::npos);
  CHECK(bad.out.find("ok: instance gw-a:8080: 20 records") != std::string::npos);
  CHECK(bad.out.find("TAMPERED: 3 instances, 51 records verified, 1 instance tampered") !=
        std::string::npos);

  auto only_a = RunTosgate("audit verify --dsn " + Q(dsn) + " --instance gw-a:8080");
  CHECK(only_a.exit_code == 0);
  CHECK(only_a.out.find("ok: 1 instance, 20 records verified") != std::string::npos);
  auto unknown = RunTosgate("audit verify --dsn " + Q(dsn) + " --instance gw-nope");
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.out.find("no records from instance 'gw-nope'") != std::string::npos);
}

TEST_CASE("audit --dsn usage errors: with --db, --instance without --dsn, prune, --public-key") {
  auto both = RunTosgate("audit query --db x.db --dsn 'host=127.0.0.1'");
  CHECK(both.exit_code == 2);
  CHECK(both.out.find("not both") != std::string::npos);
  auto both_verify = RunTosgate("audit verify --db x.db --dsn 'host=127.0.0.1'");
  CHECK(both_verify.exit_code == 2);
  CHECK(both_verify.out.find("not both") != std::string::npos);
  auto inst = RunTosgate("audit query --db x.db --instance gw-a");
  CHECK(inst.exit_code == 2);
  CHECK(inst.out.find("--instance needs --dsn") != std::string::npos);
  auto prune = RunTosgate("audit prune --dsn 'host=127.0.0.1' --older-than 30d");
  CHECK(prune.exit_code == 2);
  CHECK(prune.out.find("prune works on an SQLite store") != std::string::npos);
  const std::string dir = tosgate::test::TempDir();
  {
    auto sink = tosgate::storage::SqliteAuditSink::Open({.path = dir + "/a.db"});
    REQUIRE(sink.ok());
    REQUIRE((*sink)->Close().ok());
  }
  auto cursor =
      RunTosgate("audit query --db " + dir + "/a.db --after " +
                 tosgate::storage::EncodeCursor({.time_ms = 1, .seq = 2, .instance = "gw"}));
  CHECK(cursor.exit_code == 2);
  CHECK(cursor.out.find("that cursor is from a fleet's PostgreSQL store") != std::string::npos);
  auto key = RunTosgate("audit verify --dsn 'host=127.0.0.1' --public-key k.pem");
  CHECK(key.exit_code == 2);
  CHECK(key.out.find("no signed checkpoints") != std::string::npos);
}

TEST_CASE(
    "audit --dsn: a bad DSN, nothing listening, a wrong password: one line, exit 2, no password") {
  const int port = tosgate::test::FreeLoopbackPorts(1).at(0);
  const std::string closed = "host=127.0.0.1 port=" + std::to_string(port) +
                             " user=gw dbname=audit password=s3cret connect_timeout=2";
  for (const std::string& dsn :
       {std::string("postgresql://gw:s3cret@[::1/audit"),
        std::string("host=127.0.0.1 nonsense=1 password=s3cret"), closed}) {
    auto r = RunTosgate("audit query --dsn " + Q(dsn));
    CHECK(r.exit_code == 2);
    CHECK_MESSAGE(Lines(r.out).size() == 1, r.out);
    CHECK(r.out.rfind("tosgate audit: ", 0) == 0);
    CHECK(r.out.find("s3cret") == std::string::npos);
  }
  auto down = RunTosgate("audit verify --dsn " + Q(closed));
  CHECK(down.exit_code == 2);
  CHECK(down.out.find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
  CHECK(down.out.find("s3cret") == std::string::npos);

  if (!tosgate::test::PostgresAvailable()) return;
  tosgate::test::PostgresServer locked("right-pw");
  auto wrong =
      RunTosgate("audit export --format jsonl --dsn " + Q(locked.DsnWithPassword("wrong-pw")));
  CHECK(wrong.exit_code == 2);
  CHECK_MESSAGE(Lines(wrong.out).size() == 1, wrong.out);
  CHECK(wrong.out.find("authentication failed") != std::string::npos);
  CHECK(wrong.out.find("wrong-pw") == std::string::npos);
}

}  // namespace
