// tosgate audit query|export|stats: flags, exit codes and output, run on the
// binary against a store written through the real sink.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "run_support.h"
#include "storage/audit/sqlite/sink.h"

using tosgate::test::RunTosgate;
using tosgate::test::TempDir;

namespace {

constexpr int64_t kT0 = 1764331200000;  // 2025-11-28T12:00:00Z

// 30 decisions: acct_0..acct_2 in turn, one a minute; every 5th a deny by
// rule "purpose.x", whose reason holds a comma and a quote.
std::string MakeStore(const std::string& dir) {
  const std::string path = dir + "/audit.db";
  auto sink = tosgate::storage::SqliteAuditSink::Open({.path = path});
  REQUIRE_MESSAGE(sink.ok(), sink.status().ToString());
  for (int i = 0; i < 30; ++i) {
    tosgate::engine::AuditRecord r;
    r.id = "d" + std::to_string(i);
    r.account = "acct_" + std::to_string(i % 3);
    r.org = "org_" + std::to_string(i % 2);
    r.time_ms = kT0 + i * 60000;
    const bool deny = i % 5 == 0;
    r.effect = deny ? tosgate::Effect::kDeny : tosgate::Effect::kAllow;
    r.status = deny ? 403 : 200;
    r.reason = deny ? "purpose, \"training\"" : "";
    if (deny) r.rule_ids = {"purpose.x"};
    REQUIRE((*sink)->Submit(r).ok());
  }
  REQUIRE((*sink)->Close().ok());
  return path;
}

std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

size_t Lines(const std::string& s) {
  return static_cast<size_t>(std::count(s.begin(), s.end(), '\n'));
}

}  // namespace

TEST_CASE("audit query pages through one account with --after until no cursor is left") {
  const std::string dir = TempDir();
  const std::string db = MakeStore(dir);
  std::vector<std::string> ids;
  std::string after;
  int pages = 0;
  do {
    auto r = RunTosgate("audit query --db " + db + " --account acct_1 --limit 4 --json" +
                        (after.empty() ? "" : " --after " + after));
    REQUIRE(r.exit_code == 0);
    auto j = nlohmann::json::parse(r.out);
    for (const auto& d : j["decisions"]) {
      CHECK(d["account"] == "acct_1");
      ids.push_back(d["id"]);
    }
    after = j["next"].is_null() ? "" : j["next"].get<std::string>();
    ++pages;
  } while (!after.empty() && pages < 10);
  CHECK(pages == 3);  // 10 rows, 4 a page
  REQUIRE(ids.size() == 10);
  for (size_t i = 0; i < ids.size(); ++i) CHECK(ids[i] == "d" + std::to_string(1 + 3 * i));
}

TEST_CASE("audit query filters by effect, rule and a time range given in RFC 3339 and ms") {
  const std::string dir = TempDir();
  const std::string db = MakeStore(dir);
  auto deny = RunTosgate("audit query --db " + db + " --rule purpose.x --effect deny --json");
  REQUIRE(deny.exit_code == 0);
  CHECK(nlohmann::json::parse(deny.out)["decisions"].size() == 6);
  auto range = RunTosgate("audit query --db " + db + " --since 2025-11-28T12:10:00Z --until " +
                          std::to_string(kT0 + 20 * 60000) + " --json");
  REQUIRE(range.exit_code == 0);
  auto rows = nlohmann::json::parse(range.out)["decisions"];
  REQUIRE(rows.size() == 10);
  CHECK(rows[0]["id"] == "d10");
  CHECK(rows[9]["id"] == "d19");
  auto table = RunTosgate("audit query --db " + db + " --account acct_0 --limit 2");
  CHECK(table.exit_code == 0);
  CHECK(table.out.find("2025-11-28T12:00:00.000Z") != std::string::npos);
  CHECK(table.out.find("more: add --after c1") != std::string::npos);
  auto none = RunTosgate("audit query --db " + db + " --account \"x' OR '1'='1\"");
  CHECK(none.exit_code == 0);
  CHECK(none.out.find("(no decisions match)") != std::string::npos);
}

TEST_CASE("audit export streams JSON Lines and CSV to a file") {
  const std::string dir = TempDir();
  const std::string db = MakeStore(dir);
  auto j = RunTosgate("audit export --db " + db + " --format jsonl --out " + dir + "/all.jsonl");
  REQUIRE(j.exit_code == 0);
  const std::string jsonl = ReadAll(dir + "/all.jsonl");
  CHECK(Lines(jsonl) == 30);
  std::istringstream in(jsonl);
  std::string line;
  std::getline(in, line);
  auto first = nlohmann::json::parse(line);
  CHECK(first["id"] == "d0");
  CHECK(first["rule_ids"] == nlohmann::json::array({"purpose.x"}));
  CHECK(first["hash"].get<std::string>().size() == 64);

  auto c = RunTosgate("audit export --db " + db + " --format csv --effect deny --out " + dir +
                      "/deny.csv");
  REQUIRE(c.exit_code == 0);
  const std::string csv = ReadAll(dir + "/deny.csv");
  CHECK(Lines(csv) == 7);  // header + 6
  CHECK(csv.rfind("seq,id,time_ms,", 0) == 0);
  CHECK(csv.find(",\"purpose, \"\"training\"\"\",\"[\"\"purpose.x\"\"]\",") != std::string::npos);
  CHECK(c.out.find('[') == std::string::npos);  // stderr is not a terminal: no progress bar

  auto to_stdout = RunTosgate("audit export --db " + db + " --format jsonl --account acct_2");
  CHECK(to_stdout.exit_code == 0);
  CHECK(Lines(to_stdout.out) == 10);
}

TEST_CASE("audit stats counts per hour and effect") {
  const std::string dir = TempDir();
  const std::string db = MakeStore(dir);
  auto r = RunTosgate("audit stats --db " + db + " --json");
  REQUIRE(r.exit_code == 0);
  auto j = nlohmann::json::parse(r.out);
  REQUIRE(j.size() == 1);
  CHECK(j[0]["hour"] == "2025-11-28T12:00:00.000Z");
  CHECK(j[0]["counts"]["allow"] == 24);
  CHECK(j[0]["counts"]["deny"] == 6);
  CHECK(j[0]["counts"]["throttle"] == 0);
  auto empty = RunTosgate("audit stats --db " + db + " --since 2025-11-29");
  CHECK(empty.exit_code == 0);
  CHECK(empty.out.find("total") != std::string::npos);
}

TEST_CASE("--build-indexes adds the org index once and says so; plain queries never write") {
  const std::string dir = TempDir();
  const std::string db = dir + "/audit.db";
  {
    auto sink = tosgate::storage::SqliteAuditSink::Open({.path = db});
    REQUIRE(sink.ok());
  }
  auto plain = RunTosgate("audit query --db " + db + " --org o");
  CHECK(plain.exit_code == 0);
  CHECK(plain.out.find("building index") == std::string::npos);
  auto first = RunTosgate("audit query --db " + db + " --org o --build-indexes");
  CHECK(first.exit_code == 0);
  CHECK(first.out.find("building index decisions_org_time") != std::string::npos);
  auto second = RunTosgate("audit query --db " + db + " --org o --build-indexes");
  CHECK(second.exit_code == 0);
  CHECK(second.out.find("building index") == std::string::npos);
}

TEST_CASE("audit refuses bad flags with exit 2 and one clear line") {
  const std::string dir = TempDir();
  const std::string db = MakeStore(dir);
  struct Case {
    std::string args, says;
  };
  for (const Case& c : std::vector<Case>{
           {"query --db " + db + " --since yesterday", "--since: 'yesterday' is not a time"},
           {"query --db " + db + " --effect maybe", "--effect must be allow, throttle or deny"},
           {"query --db " + db + " --limit 0", "--limit must be a number"},
           {"query --db " + db + " --limit ten", "--limit must be a number"},
           {"query --db " + db + " --after garbage", "not a cursor"},
           {"query --db " + db + " --colour red", "unknown argument '--colour'"},
           {"query --db " + db + " --since 2025-11-29 --until 2025-11-28", "--until must be after"},
           {"export --db " + db + " --format xml", "--format jsonl or --format csv"},
           {"query --db " + db + " --account", "--account needs a value"},
           {"frobnicate", "unknown command 'frobnicate'"},
           {"query --db " + dir + "/missing.db", "no such audit store"},
       }) {
    CAPTURE(c.args);
    auto r = RunTosgate("audit " + c.args);
    CHECK(r.exit_code == 2);
    CHECK(r.out.find(c.says) != std::string::npos);
  }
  tosgate::test::WriteFile(dir + "/junk.db", std::string(8192, 'j'));
  auto junk = RunTosgate("audit stats --db " + dir + "/junk.db");
  CHECK(junk.exit_code == 2);
  CHECK(junk.out.find(dir + "/junk.db") != std::string::npos);
}
