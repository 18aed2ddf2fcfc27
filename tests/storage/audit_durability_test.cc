// Durability modes, SubmitThen, client IP truncation and bad input for the
// SQLite audit sink.
#include <doctest/doctest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "audit_test_support.h"
#include "storage/audit/signing.h"
#include "storage/audit/verify.h"
#include "storage/audit/sqlite/sink.h"
#include "temp_dir.h"

namespace tosgate::storage {
namespace {

using audit_test::CountSql;
using audit_test::LockHolder;
using audit_test::OpenSink;
using audit_test::Rec;
using namespace std::chrono_literals;

void ExpectVerifies(const std::string& path, uint64_t records) {
  auto v = VerifyAuditStore(path);
  REQUIRE_MESSAGE(v.ok(), v.status().ToString());
  CHECK_MESSAGE(v->ok, v->problem);
  CHECK(v->records == records);
}

TEST_CASE("kSync: Submit returns only once its record is committed; threads share commits") {
  test::TempDir dir;
  const std::string path = dir.File("audit.db");
  auto sink = OpenSink({.path = path, .durability = Durability::kSync});
  constexpr int kThreads = 8, kEach = 150;
  std::atomic<uint64_t> returned{0};
  std::atomic<int> not_yet_written{0}, not_visible{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      sqlite3* reader = nullptr;
      if (t == 0) sqlite3_open_v2(path.c_str(), &reader, SQLITE_OPEN_READONLY, nullptr);
      for (int i = 0; i < kEach; ++i) {
        const std::string id = "s-" + std::to_string(t) + "-" + std::to_string(i);
        if (!sink->Submit(Rec(id)).ok()) ++failed;
        // Everything that has returned so far is committed.
        const uint64_t n = ++returned;
        if (sink->stats().written < n) ++not_yet_written;
        if (reader) {  // and another connection sees it
          sqlite3_stmt* st = nullptr;
          sqlite3_prepare_v2(reader, "SELECT count(*) FROM decisions WHERE id = ?1", -1, &st,
                             nullptr);
          sqlite3_bind_text(st, 1, id.c_str(), -1, SQLITE_TRANSIENT);
          if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_int(st, 0) != 1) ++not_visible;
          sqlite3_finalize(st);
        }
      }
      if (reader) sqlite3_close(reader);
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failed == 0);
  CHECK(not_yet_written == 0);
  CHECK(not_visible == 0);
  const auto stats = sink->stats();
  CHECK(stats.written == kThreads * kEach);
  CHECK(stats.queue_depth == 0);
  // Group commit: eight blocked submitters do not each get a transaction.
  CHECK(stats.batches < stats.written);
  REQUIRE(sink->Close().ok());
  ExpectVerifies(path, kThreads * kEach);
}

TEST_CASE("kSync: a Submit stays blocked while commits fail and returns OK after they succeed") {
  test::TempDir dir;
  const std::string path = dir.File("audit.db");
  auto sink = OpenSink({.path = path, .busy_timeout = 1ms, .durability = Durability::kSync});
  LockHolder lock(path);
  std::atomic<bool> returned{false};
  Status result = Status::Internal("not set");
  std::thread submitter([&] {
    result = sink->Submit(Rec("blocked"));
    returned = true;
  });
  while (sink->stats().write_errors < 2) std::this_thread::yield();
  CHECK_FALSE(returned.load());  // two failed commits, and it has not answered
  lock.Release();
  submitter.join();
  CHECK(result.ok());
  CHECK(CountSql(path, "SELECT count(*) FROM decisions WHERE id = 'blocked'") == 1);
}

TEST_CASE("kSync: a record given up at Close answers its Submit with the error") {
  test::TempDir dir;
  const std::string path = dir.File("audit.db");
  auto sink = OpenSink({.path = path, .busy_timeout = 1ms, .close_timeout = 10ms,
                        .durability = Durability::kSync});
  LockHolder lock(path);
  Status result;
  std::thread submitter([&] { result = sink->Submit(Rec("lost")); });
  while (sink->stats().write_errors < 1) std::this_thread::yield();
  CHECK(sink->Close().code() == Status::Code::kIoError);
  submitter.join();
  CHECK_FALSE(result.ok());
  CHECK(result.message().find("given up at close") != std::string::npos);
}

TEST_CASE("kAsync: Submit returns before the commit; Close commits everything from all threads") {
  test::TempDir dir;
  const std::string path = dir.File("audit.db");
  auto sink = OpenSink({.path = path, .busy_timeout = 1ms, .durability = Durability::kAsync});
  {
    // With the store locked nothing can commit, yet Submit answers.
    LockHolder lock(path);
    REQUIRE(sink->Submit(Rec("queued")).ok());
    CHECK(sink->stats().written == 0);
    CHECK(sink->stats().queue_depth == 1);
  }
  constexpr int kThreads = 8, kEach = 300;
  std::vector<std::thread> threads;
  std::atomic<int> failed{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i)
        if (!sink->Submit(Rec("a-" + std::to_string(t) + "-" + std::to_string(i))).ok()) ++failed;
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failed == 0);
  REQUIRE(sink->Close().ok());
  CHECK(sink->stats().written == 1 + kThreads * kEach);
  ExpectVerifies(path, 1 + kThreads * kEach);
}

TEST_CASE("SubmitThen calls done on the writer thread after the commit, in both modes") {
  for (Durability mode : {Durability::kSync, Durability::kAsync}) {
    test::TempDir dir;
    const std::string path = dir.File("audit.db");
    auto sink = OpenSink({.path = path, .durability = mode});
    std::mutex mu;
    std::vector<std::string> seen;
    int on_caller = 0;
    const auto caller = std::this_thread::get_id();
    for (int i = 0; i < 50; ++i) {
      const std::string id = "t-" + std::to_string(i);
      sink->SubmitThen(Rec(id), [&, id](Status s) {
        const int64_t n =
            CountSql(path, "SELECT count(*) FROM decisions WHERE id = '" + id + "'");
        std::lock_guard lock(mu);
        if (std::this_thread::get_id() == caller) ++on_caller;
        seen.push_back(s.ok() && n == 1 ? "ok" : "bad " + id + " " + s.ToString());
      });
    }
    REQUIRE(sink->Close().ok());
    std::lock_guard lock(mu);
    CHECK(seen.size() == 50);
    CHECK(std::count(seen.begin(), seen.end(), "ok") == 50);
    CHECK(on_caller == 0);
  }
}

TEST_CASE("SubmitThen on a closed sink answers at once with Unavailable") {
  test::TempDir dir;
  auto sink = OpenSink({.path = dir.File("audit.db")});
  REQUIRE(sink->Close().ok());
  Status got = Status::Ok();
  sink->SubmitThen(Rec("late"), [&](Status s) { got = s; });
  CHECK(got.code() == Status::Code::kUnavailable);
}

TEST_CASE("truncate_client_ip stores IPv4 as /24 and IPv6 as /48, and the chain covers that") {
  CHECK(TruncateClientIp("203.0.113.77") == "203.0.113.0");
  CHECK(TruncateClientIp("2001:db8:abcd:12:3456::1") == "2001:db8:abcd::");
  CHECK(TruncateClientIp("::ffff:203.0.113.9") == "::ffff:203.0.113.0");
  CHECK(TruncateClientIp("not-an-ip") == "");
  CHECK(TruncateClientIp("") == "");

  test::TempDir dir;
  const std::string path = dir.File("audit.db");
  auto sink = OpenSink({.path = path, .truncate_client_ip = true});
  auto v6 = Rec("six");
  v6.client_ip = "2001:db8:abcd:12::99";
  REQUIRE(sink->Submit(Rec("four")).ok());
  REQUIRE(sink->Submit(v6).ok());
  REQUIRE(sink->Close().ok());
  CHECK(CountSql(path, "SELECT count(*) FROM decisions WHERE client_ip = '203.0.113.0'") == 1);
  CHECK(CountSql(path, "SELECT count(*) FROM decisions WHERE client_ip = '2001:db8:abcd::'") == 1);
  CHECK(CountSql(path, "SELECT count(*) FROM decisions WHERE client_ip LIKE '%77' OR "
                       "client_ip LIKE '%99'") == 0);
  ExpectVerifies(path, 2);
}

TEST_CASE("a wall clock that jumps backwards keeps seq order and verifies") {
  test::TempDir dir;
  const std::string path = dir.File("audit.db");
  auto sink = OpenSink({.path = path});
  const int64_t t0 = 1764331200000;
  for (int64_t t : {t0, t0 + 1000, t0 - 3'600'000, t0 + 2000})
    REQUIRE(sink->Submit(Rec("at-" + std::to_string(t), t)).ok());
  REQUIRE(sink->Close().ok());
  CHECK(CountSql(path, "SELECT seq FROM decisions WHERE id = 'at-" +
                           std::to_string(t0 - 3'600'000) + "'") == 3);
  ExpectVerifies(path, 4);
  // Pruning before t0 + 500 removes a prefix of the chain: seq 1 only. The
  // record stamped an hour early (seq 3) follows a newer one and stays.
  auto pruned = PruneAuditStore(path, t0 + 500);
  REQUIRE(pruned.ok());
  CHECK(pruned->pruned == 1);
  CHECK(pruned->anchor_seq == 1);
  ExpectVerifies(path, 3);
}

TEST_CASE("Open refuses a missing or unreadable signing key, naming the path") {
  test::TempDir dir;
  const std::string missing = dir.File("no-such-key.pem");
  auto sink = SqliteAuditSink::Open({.path = dir.File("a.db"), .signing_key_path = missing});
  REQUIRE_FALSE(sink.ok());
  CHECK(sink.status().message().find(missing) != std::string::npos);
  CHECK(sink.status().message().find("signing key") != std::string::npos);

  const std::string junk = dir.Write("junk.pem", "-----BEGIN NOTHING-----\n");
  sink = SqliteAuditSink::Open({.path = dir.File("b.db"), .signing_key_path = junk});
  REQUIRE_FALSE(sink.ok());
  CHECK(sink.status().message().find(junk) != std::string::npos);

  if (geteuid() != 0) {  // root reads anything
    const std::string key = dir.File("locked.pem");
    REQUIRE(GenerateKey(key).ok());
    chmod(key.c_str(), 0);
    sink = SqliteAuditSink::Open({.path = dir.File("c.db"), .signing_key_path = key});
    REQUIRE_FALSE(sink.ok());
    CHECK(sink.status().message().find(key) != std::string::npos);
  }
}

TEST_CASE("Open refuses a foreign file and a store from a newer tosgate") {
  test::TempDir dir;
  const std::string foreign = dir.Write("foreign.db", std::string("%PDF-1.7\n") + std::string(2048, 'x'));
  auto sink = SqliteAuditSink::Open({.path = foreign});
  REQUIRE_FALSE(sink.ok());
  CHECK(sink.status().message().find(foreign) != std::string::npos);
  auto v = VerifyAuditStore(foreign);
  CHECK_FALSE(v.ok());

  const std::string newer = dir.File("newer.db");
  OpenSink({.path = newer});
  audit_test::RawSql(newer, "PRAGMA user_version = 2");
  sink = SqliteAuditSink::Open({.path = newer});
  REQUIRE_FALSE(sink.ok());
  CHECK(sink.status().message().find("newer than this tosgate") != std::string::npos);
  v = VerifyAuditStore(newer);
  REQUIRE_FALSE(v.ok());
  CHECK(v.status().message().find("newer than this tosgate") != std::string::npos);
}

}  // namespace
}  // namespace tosgate::storage
