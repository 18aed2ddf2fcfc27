#include "storage/audit/reader.h"

#include <doctest/doctest.h>

#include "storage/audit/sqlite/sink.h"
#include "temp_dir.h"

namespace tosgate::storage {
namespace {

using test::TempDir;

engine::AuditRecord Rec(std::string account, int64_t time_ms) {
  engine::AuditRecord r;
  r.id = account + "@" + std::to_string(time_ms);
  r.account = std::move(account);
  r.time_ms = time_ms;
  r.effect = Effect::kAllow;
  return r;
}

std::vector<std::string> Ids(const Result<std::vector<StoredDecision>>& rows) {
  REQUIRE_MESSAGE(rows.ok(), rows.status().ToString());
  std::vector<std::string> ids;
  for (const auto& d : rows.value()) ids.push_back(d.record.id);
  return ids;
}

TEST_CASE("ReadDecisions filters by account, pages by seq, limits and orders") {
  TempDir dir;
  const std::string path = dir.File("audit.db");
  {
    auto sink = SqliteAuditSink::Open({.path = path});
    REQUIRE(sink.ok());
    for (int t = 1; t <= 3; ++t) {
      REQUIRE((*sink)->Submit(Rec("a", t)).ok());
      REQUIRE((*sink)->Submit(Rec("b", t)).ok());
    }
    REQUIRE((*sink)->Close().ok());
  }
  DecisionQuery q;
  CHECK(Ids(ReadDecisions(path, q)) ==
        std::vector<std::string>{"a@1", "b@1", "a@2", "b@2", "a@3", "b@3"});
  q.account = "b";
  CHECK(Ids(ReadDecisions(path, q)) == std::vector<std::string>{"b@1", "b@2", "b@3"});
  q.newest_first = true;
  q.limit = 2;
  CHECK(Ids(ReadDecisions(path, q)) == std::vector<std::string>{"b@3", "b@2"});
  q = {};
  q.after_seq = 4;
  CHECK(Ids(ReadDecisions(path, q)) == std::vector<std::string>{"a@3", "b@3"});
  q.account = "nobody";
  CHECK(Ids(ReadDecisions(path, q)).empty());
}

TEST_CASE("ReadDecisions says NotFound for a missing file and refuses other files") {
  TempDir dir;
  auto missing = ReadDecisions(dir.File("none.db"));
  CHECK(missing.status().code() == Status::Code::kNotFound);
  CHECK(missing.status().message().find(dir.File("none.db")) != std::string::npos);

  auto junk = ReadDecisions(dir.Write("junk.db", std::string(4096, 'j')));
  CHECK(junk.status().code() == Status::Code::kInvalidArgument);
  CHECK(junk.status().message().find("junk.db") != std::string::npos);
}

}  // namespace
}  // namespace tosgate::storage
