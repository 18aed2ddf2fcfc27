#include "storage/audit/sqlite/sink.h"

#include <doctest/doctest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <limits>
#include <map>
#include <thread>
#include <vector>

#include "storage/audit/chain.h"
#include "storage/audit/reader.h"
#include "audit_test_support.h"
#include "temp_dir.h"

namespace tosgate::storage {
namespace {

using test::TempDir;
using namespace std::chrono_literals;

// A record whose every field depends on (thread, i), so a row read back can
// be compared with what was submitted.
engine::AuditRecord MakeRecord(int thread, int i) {
  const std::string t = std::to_string(thread), n = std::to_string(i);
  engine::AuditRecord r;
  r.id = "d-" + t + "-" + n;
  r.time_ms = 1764331200000 + thread * 100000 + i;
  r.request_id = "req-" + n;
  r.account = "acct_" + t;
  r.key_id = std::string(64, "0123456789abcdef"[i % 16]);
  r.org = "org_" + std::to_string(thread % 3);
  r.client_ip = "203.0.113." + std::to_string(i % 256);
  r.method = i % 2 ? "POST" : "GET";
  r.path = "/v1/chat/completions?x=\"" + n + "\"";
  r.operation = "chat";
  r.model = "m-large-\xC3\xA9";  // UTF-8 survives
  r.effect = i % 3 == 0 ? Effect::kDeny : i % 3 == 1 ? Effect::kThrottle : Effect::kAllow;
  r.enforced = i % 5 != 0;
  r.status = i % 3 == 0 ? 403 : i % 3 == 1 ? 429 : 200;
  r.reason = i % 3 == 2 ? "" : "reason-" + n;
  r.rule_ids = {"rule." + n};
  r.matches = {engine::AuditMatch{"rule." + n, Action::kDeny, false, "x"}};
  r.risk = i / 1000.0;
  r.policy_revision = "rev-" + t;
  r.prompt_sha256 = i % 4 == 0 ? "" : std::string(64, 'a');
  r.latency_us = i * 7;
  return r;
}

void CheckSame(const AuditRow& got, const engine::AuditRecord& typed) {
  const AuditRow want = ToAuditRow(typed);
  CHECK(got.id == want.id);
  CHECK(got.time_ms == want.time_ms);
  CHECK(got.request_id == want.request_id);
  CHECK(got.account == want.account);
  CHECK(got.key_id == want.key_id);
  CHECK(got.org == want.org);
  CHECK(got.client_ip == want.client_ip);
  CHECK(got.method == want.method);
  CHECK(got.path == want.path);
  CHECK(got.operation == want.operation);
  CHECK(got.model == want.model);
  CHECK(got.effect == want.effect);
  CHECK(got.enforced == want.enforced);
  CHECK(got.status == want.status);
  CHECK(got.reason == want.reason);
  CHECK(got.rule_ids == want.rule_ids);
  CHECK(got.matches == want.matches);
  CHECK(got.risk == want.risk);
  CHECK(got.policy_revision == want.policy_revision);
  CHECK(got.prompt_sha256 == want.prompt_sha256);
  CHECK(got.latency_us == want.latency_us);
}

// Checks seq is 1..n without gaps and every row chains to the one before.
// Returns the first seq that does not verify, or 0.
uint64_t FirstBrokenLink(const std::vector<StoredDecision>& rows) {
  std::string prev = AuditGenesisHash();
  for (size_t i = 0; i < rows.size(); ++i) {
    const StoredDecision& d = rows[i];
    if (d.seq != i + 1 || d.prev_hash != prev ||
        d.hash != AuditChainHash(prev, d.seq, d.record))
      return i + 1;
    prev = d.hash;
  }
  return 0;
}

std::vector<StoredDecision> ReadAll(const std::string& path) {
  DecisionQuery all;
  all.limit = 0;
  auto rows = ReadDecisions(path, all);
  REQUIRE_MESSAGE(rows.ok(), rows.status().ToString());
  return std::move(rows).value();
}

std::unique_ptr<SqliteAuditSink> OpenOrDie(SqliteAuditOptions o) {
  auto sink = SqliteAuditSink::Open(std::move(o));
  REQUIRE_MESSAGE(sink.ok(), sink.status().ToString());
  return std::move(sink).value();
}

// A second connection that takes the database's write lock, so the sink's
// writer cannot commit until Release().
using WriteLockHolder = audit_test::LockHolder;

TEST_CASE("records submitted from many threads are all written once, every field intact") {
  TempDir dir;
  const std::string path = dir.File("audit.db");
  constexpr int kThreads = 8, kPerThread = 1500;
  auto sink = OpenOrDie({.path = path, .queue_capacity = 1024, .queue_wait = 10s, .max_batch = 64});

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&sink, t] {
      for (int i = 0; i < kPerThread; ++i) {
        Status s = sink->Submit(MakeRecord(t, i));
        if (!s.ok()) FAIL_CHECK(s.ToString());  // doctest assertions are thread-safe
      }
    });
  }
  for (auto& th : threads) th.join();
  REQUIRE(sink->Close().ok());

  const auto stats = sink->stats();
  CHECK(stats.submitted == kThreads * kPerThread);
  CHECK(stats.written == kThreads * kPerThread);
  CHECK(stats.rejected_full == 0);
  CHECK(stats.write_errors == 0);
  CHECK(stats.dropped == 0);
  CHECK(stats.queue_depth == 0);
  CHECK(stats.batches >= (kThreads * kPerThread) / 64);  // no batch exceeds max_batch

  const auto rows = ReadAll(path);
  REQUIRE(rows.size() == kThreads * kPerThread);
  CHECK(FirstBrokenLink(rows) == 0);
  std::map<std::string, const AuditRow*> by_id;
  for (const auto& d : rows) by_id[d.record.id] = &d.record;
  REQUIRE(by_id.size() == rows.size());  // no record twice
  // Per thread, records keep their submission order.
  std::map<std::string, int64_t> last_time;
  for (const auto& d : rows) {
    CHECK(d.record.time_ms > last_time[d.record.account]);
    last_time[d.record.account] = d.record.time_ms;
  }
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      const auto want = MakeRecord(t, i);
      auto it = by_id.find(want.id);
      REQUIRE(it != by_id.end());
      CheckSame(*it->second, want);
    }
  }
}

TEST_CASE("the hash chain continues across reopening and an edited row breaks it") {
  TempDir dir;
  const std::string path = dir.File("audit.db");
  {
    auto sink = OpenOrDie({.path = path, .max_batch = 3});
    for (int i = 0; i < 10; ++i) REQUIRE(sink->Submit(MakeRecord(0, i)).ok());
  }  // the destructor drains
  {
    auto sink = OpenOrDie({.path = path});
    for (int i = 10; i < 15; ++i) REQUIRE(sink->Submit(MakeRecord(0, i)).ok());
    REQUIRE(sink->Close().ok());
  }
  auto rows = ReadAll(path);
  REQUIRE(rows.size() == 15);
  CHECK(rows.front().prev_hash == AuditGenesisHash());
  CHECK(rows[10].record.id == "d-0-10");
  CHECK(FirstBrokenLink(rows) == 0);

  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, "UPDATE decisions SET effect='allow' WHERE seq=7", nullptr, nullptr,
                       nullptr) == SQLITE_OK);
  sqlite3_close(db);
  CHECK(FirstBrokenLink(ReadAll(path)) == 7);
}

TEST_CASE("Open names the path when the directory is missing or not a directory") {
  TempDir dir;
  SUBCASE("missing directory") {
    const std::string path = dir.File("no-such-dir/audit.db");
    auto sink = SqliteAuditSink::Open({.path = path});
    REQUIRE_FALSE(sink.ok());
    CHECK(sink.status().code() == Status::Code::kIoError);
    CHECK(sink.status().message().find(path) != std::string::npos);
    CHECK(sink.status().message().find("No such file or directory") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir.File("no-such-dir")));  // not created
  }
  SUBCASE("parent is a regular file") {
    dir.Write("plain", "x");
    const std::string path = dir.File("plain/audit.db");
    auto sink = SqliteAuditSink::Open({.path = path});
    REQUIRE_FALSE(sink.ok());
    CHECK(sink.status().message().find(path) != std::string::npos);
  }
  SUBCASE("directory without write permission") {
    if (geteuid() == 0) return;  // root writes anywhere
    REQUIRE(chmod(dir.path().c_str(), 0500) == 0);
    const std::string path = dir.File("audit.db");
    auto sink = SqliteAuditSink::Open({.path = path});
    REQUIRE_FALSE(sink.ok());
    CHECK(sink.status().message().find(path) != std::string::npos);
  }
  SUBCASE("a store file without write permission") {
    if (geteuid() == 0) return;
    const std::string path = dir.File("audit.db");
    OpenOrDie({.path = path});
    REQUIRE(chmod(path.c_str(), 0400) == 0);
    auto sink = SqliteAuditSink::Open({.path = path});
    REQUIRE_FALSE(sink.ok());
    CHECK(sink.status().message().find("not writable") != std::string::npos);
  }
}

TEST_CASE("Open refuses files that are not tosgate audit stores") {
  TempDir dir;
  SUBCASE("not an SQLite database") {
    const std::string path = dir.Write("junk.db", std::string(4096, 'j'));
    auto sink = SqliteAuditSink::Open({.path = path});
    REQUIRE_FALSE(sink.ok());
    CHECK(sink.status().code() == Status::Code::kInvalidArgument);
    CHECK(sink.status().message().find(path) != std::string::npos);
    CHECK(sink.status().message().find("not a database") != std::string::npos);
  }
  SUBCASE("an SQLite database of something else") {
    const std::string path = dir.File("other.db");
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "CREATE TABLE t (x)", nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
    auto sink = SqliteAuditSink::Open({.path = path});
    REQUIRE_FALSE(sink.ok());
    CHECK(sink.status().message().find("not a tosgate audit store") != std::string::npos);
  }
  SUBCASE("a newer schema version") {
    const std::string path = dir.File("future.db");
    OpenOrDie({.path = path});  // creates, closes
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "PRAGMA user_version=99", nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
    auto sink = SqliteAuditSink::Open({.path = path});
    REQUIRE_FALSE(sink.ok());
    CHECK(sink.status().message().find("schema version 99") != std::string::npos);
  }
}

TEST_CASE("Open reports Unavailable when another connection keeps the store locked") {
  TempDir dir;
  const std::string path = dir.File("audit.db");
  OpenOrDie({.path = path});
  WriteLockHolder lock(path);
  auto sink = SqliteAuditSink::Open({.path = path, .busy_timeout = 10ms});
  REQUIRE_FALSE(sink.ok());
  CHECK(sink.status().code() == Status::Code::kUnavailable);
  CHECK(sink.status().message().find(path) != std::string::npos);
  CHECK(sink.status().message().find("locked") != std::string::npos);
}

TEST_CASE("a full queue refuses after queue_wait; nothing accepted is lost once the lock goes") {
  TempDir dir;
  const std::string path = dir.File("audit.db");
  auto sink = OpenOrDie(
      {.path = path, .queue_capacity = 4, .queue_wait = 20ms, .busy_timeout = 5ms});
  WriteLockHolder lock(path);

  for (int i = 0; i < 4; ++i) REQUIRE(sink->Submit(MakeRecord(0, i)).ok());
  Status full = sink->Submit(MakeRecord(0, 4));
  CHECK(full.code() == Status::Code::kResourceExhausted);
  CHECK(full.message().find(path) != std::string::npos);
  CHECK(sink->stats().rejected_full == 1);
  CHECK(sink->stats().queue_depth == 4);

  // The writer cannot commit: Flush reports its error instead of hanging.
  Status blocked = sink->Flush();
  CHECK(blocked.code() == Status::Code::kUnavailable);
  CHECK(blocked.message().find("will retry") != std::string::npos);
  CHECK(sink->stats().write_errors >= 1);
  CHECK(sink->stats().written == 0);

  lock.Release();
  REQUIRE(sink->Flush().ok());
  CHECK(sink->stats().written == 4);
  CHECK(sink->stats().queue_depth == 0);
  REQUIRE(sink->Submit(MakeRecord(0, 5)).ok());  // room again
  REQUIRE(sink->Close().ok());

  const auto rows = ReadAll(path);
  REQUIRE(rows.size() == 5);
  for (int i : {0, 1, 2, 3}) CHECK(rows[i].record.id == MakeRecord(0, i).id);
  CHECK(rows[4].record.id == "d-0-5");  // the refused one is not there
  CHECK(FirstBrokenLink(rows) == 0);
}

TEST_CASE("a Submit waiting on a full queue goes through when the writer catches up") {
  TempDir dir;
  const std::string path = dir.File("audit.db");
  auto sink = OpenOrDie(
      {.path = path, .queue_capacity = 2, .queue_wait = 60s, .busy_timeout = 5ms});
  WriteLockHolder lock(path);
  REQUIRE(sink->Submit(MakeRecord(0, 0)).ok());
  REQUIRE(sink->Submit(MakeRecord(0, 1)).ok());
  Status waited;
  std::thread submitter([&] { waited = sink->Submit(MakeRecord(0, 2)); });
  lock.Release();
  submitter.join();
  CHECK(waited.ok());
  REQUIRE(sink->Close().ok());
  CHECK(sink->stats().written == 3);
  CHECK(sink->stats().rejected_full == 0);
}

TEST_CASE("Flush returns when everything submitted before it is committed") {
  TempDir dir;
  const std::string path = dir.File("audit.db");
  auto sink = OpenOrDie({.path = path, .max_batch = 7});
  for (int i = 0; i < 100; ++i) REQUIRE(sink->Submit(MakeRecord(1, i)).ok());
  REQUIRE(sink->Flush().ok());
  CHECK(sink->stats().written == 100);
  CHECK(sink->stats().batches >= 100 / 7);
  // Visible to another connection while the sink is still open (WAL).
  CHECK(ReadAll(path).size() == 100);
  REQUIRE(sink->Flush().ok());  // nothing new: returns at once
}

TEST_CASE("Close drains the queue, is idempotent, and later Submits are refused") {
  TempDir dir;
  const std::string path = dir.File("audit.db");
  auto sink = OpenOrDie({.path = path, .max_batch = 16});
  for (int i = 0; i < 500; ++i) REQUIRE(sink->Submit(MakeRecord(2, i)).ok());
  REQUIRE(sink->Close().ok());
  CHECK_FALSE(std::filesystem::exists(path + "-wal"));  // checkpointed into the file
  CHECK(sink->stats().written == 500);
  CHECK(sink->Close().ok());
  Status after = sink->Submit(MakeRecord(2, 500));
  CHECK(after.code() == Status::Code::kUnavailable);
  CHECK(sink->Flush().ok());
  CHECK(ReadAll(path).size() == 500);
}

TEST_CASE("Close gives up after close_timeout of failed commits and says how many were lost") {
  TempDir dir;
  const std::string path = dir.File("audit.db");
  auto sink = OpenOrDie({.path = path, .busy_timeout = 1ms, .close_timeout = 20ms});
  WriteLockHolder lock(path);
  for (int i = 0; i < 3; ++i) REQUIRE(sink->Submit(MakeRecord(0, i)).ok());
  Status closed = sink->Close();
  CHECK(closed.code() == Status::Code::kIoError);
  CHECK(closed.message().find("3 audit records could not be written") != std::string::npos);
  CHECK(closed.message().find(path) != std::string::npos);
  CHECK(sink->stats().dropped == 3);
  CHECK(sink->stats().written == 0);
  CHECK(sink->Close().code() == Status::Code::kIoError);  // same answer again
}

TEST_CASE("a record with a NaN or negative-zero risk is stored and still verifies") {
  TempDir dir;
  const std::string path = dir.File("audit.db");
  auto sink = OpenOrDie({.path = path});
  auto a = MakeRecord(0, 0);
  a.risk = std::numeric_limits<double>::quiet_NaN();
  auto b = MakeRecord(0, 1);
  b.risk = -0.0;
  REQUIRE(sink->Submit(a).ok());
  REQUIRE(sink->Submit(b).ok());
  REQUIRE(sink->Close().ok());
  const auto rows = ReadAll(path);
  REQUIRE(rows.size() == 2);
  CHECK(std::isnan(rows[0].record.risk));
  CHECK(rows[1].record.risk == 0.0);
  CHECK(FirstBrokenLink(rows) == 0);
}

TEST_CASE("an in-memory store accepts and commits records") {
  auto sink = OpenOrDie({.path = ":memory:"});
  for (int i = 0; i < 10; ++i) REQUIRE(sink->Submit(MakeRecord(0, i)).ok());
  REQUIRE(sink->Flush().ok());
  CHECK(sink->stats().written == 10);
}

TEST_CASE("Open rejects empty paths and zero sizes") {
  CHECK(SqliteAuditSink::Open({}).status().code() == Status::Code::kInvalidArgument);
  CHECK(SqliteAuditSink::Open({.path = ":memory:", .queue_capacity = 0}).status().code() ==
        Status::Code::kInvalidArgument);
  CHECK(SqliteAuditSink::Open({.path = ":memory:", .max_batch = 0}).status().code() ==
        Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace tosgate::storage
