// PostgresAuditSink against a real PostgreSQL on loopback: per-instance
// chains from concurrent gateways, restart, duplicate instances, outages,
// commit timeouts and start-up errors.
#include "storage/audit/postgres/sink.h"

#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "storage/audit/chain.h"
#include "storage/audit/postgres/schema.h"
#include "storage/audit/postgres/util.h"
#include "tests/storage/postgres_server.h"

namespace tosgate::storage {
namespace {

using test::PostgresAvailable;
using test::PostgresServer;

engine::AuditRecord Rec(const std::string& id) {
  engine::AuditRecord r;
  r.id = id;
  r.time_ms = 1'700'000'000'000;
  r.request_id = "req-" + id;
  r.account = "acct-" + std::to_string(id.size() % 3);
  r.client_ip = "203.0.113.77";
  r.method = "POST";
  r.path = "/v1/chat/completions";
  r.effect = Effect::kAllow;
  r.status = 200;
  r.risk = 0.25;
  r.latency_us = 42;
  return r;
}

PostgresAuditOptions Opts(const PostgresServer& pg, const std::string& instance) {
  PostgresAuditOptions o;
  o.dsn = pg.Dsn();
  o.instance = instance;
  o.connect_timeout = std::chrono::seconds(2);
  return o;
}

PgConn Connect(const PostgresServer& pg) {
  auto c = ConnectPostgres(pg.Dsn());
  REQUIRE_MESSAGE(c.ok(), c.status().message());
  return std::move(c).value();
}

// Reads the instance's rows in seq order and recomputes its chain. Returns
// the ids, in order; fails the test on a gap or a wrong hash.
std::vector<std::string> VerifyChain(PGconn* c, const std::string& instance) {
  const std::string sql = "SELECT " + std::string(kPostgresDecisionColumns) +
                          " FROM tosgate_decisions WHERE instance = $1 ORDER BY seq";
  const char* params[] = {instance.c_str()};
  auto res = PgExecParams(c, sql.c_str(), 1, params, "verify");
  REQUIRE_MESSAGE(res.ok(), res.status().message());
  PGresult* r = res->get();
  std::vector<std::string> ids;
  std::string prev = AuditGenesisHash();
  for (int i = 0; i < PQntuples(r); ++i) {
    AuditRow rec;
    const uint64_t seq = std::stoull(PgText(r, i, 1));
    rec.id = PgText(r, i, 2);
    rec.time_ms = std::stoll(PgText(r, i, 3));
    rec.request_id = PgText(r, i, 4);
    rec.account = PgText(r, i, 5);
    rec.key_id = PgText(r, i, 6);
    rec.org = PgText(r, i, 7);
    rec.client_ip = PgText(r, i, 8);
    rec.method = PgText(r, i, 9);
    rec.path = PgText(r, i, 10);
    rec.operation = PgText(r, i, 11);
    rec.model = PgText(r, i, 12);
    rec.effect = PgText(r, i, 13);
    rec.enforced = PgText(r, i, 14) == "t";
    rec.status = std::stoi(PgText(r, i, 15));
    rec.reason = PgText(r, i, 16);
    rec.rule_ids = PgText(r, i, 17);
    rec.matches = PgText(r, i, 18);
    rec.risk = PQgetisnull(r, i, 19) ? std::numeric_limits<double>::quiet_NaN()
                                     : std::stod(PgText(r, i, 19));
    rec.policy_revision = PgText(r, i, 20);
    rec.prompt_sha256 = PgText(r, i, 21);
    rec.latency_us = std::stoll(PgText(r, i, 22));
    REQUIRE(seq == static_cast<uint64_t>(i) + 1);
    REQUIRE(PgBytea(r, i, 23) == prev);
    const std::string hash = AuditChainHash(prev, seq, rec);
    REQUIRE_MESSAGE(PgBytea(r, i, 24) == hash, "instance " << instance << " seq " << seq);
    prev = hash;
    ids.push_back(rec.id);
  }
  return ids;
}

TEST_CASE("PostgreSQL audit: three gateways write from all threads, each instance's chain verifies") {
  if (!PostgresAvailable()) return;
  PostgresServer pg;
  const std::vector<std::string> instances{"gw-a:8080", "gw-b:8080", "gw-c:8080"};
  std::vector<std::unique_ptr<PostgresAuditSink>> sinks;
  for (size_t i = 0; i < instances.size(); ++i) {
    auto o = Opts(pg, instances[i]);
    o.durability = i == 0 ? Durability::kSync : Durability::kAsync;  // both modes at once
    o.max_batch = 64;  // many transactions, interleaved between instances
    auto s = PostgresAuditSink::Open(o);
    REQUIRE_MESSAGE(s.ok(), s.status().message());
    sinks.push_back(std::move(s).value());
  }
  constexpr int kThreads = 2, kPerThread = 300;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (size_t i = 0; i < sinks.size(); ++i) {
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, i, t] {
        for (int k = 0; k < kPerThread; ++k)
          if (!sinks[i]->Submit(Rec(instances[i] + "/" + std::to_string(t) + "/" + std::to_string(k))).ok())
            ++failures;
      });
    }
  }
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
  for (auto& s : sinks) {
    REQUIRE(s->Flush().ok());
    CHECK(s->stats().written == kThreads * kPerThread);
    CHECK(s->stats().write_errors == 0);
    REQUIRE(s->Close().ok());
  }
  PgConn c = Connect(pg);
  for (const std::string& inst : instances) {
    const auto ids = VerifyChain(c.get(), inst);
    CHECK(ids.size() == kThreads * kPerThread);
    CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == ids.size());
  }
}

TEST_CASE("PostgreSQL audit: a reopened sink continues its instance's chain") {
  if (!PostgresAvailable()) return;
  PostgresServer pg;
  for (int round = 0; round < 2; ++round) {
    auto o = Opts(pg, "gw-restart");
    o.use_copy = round == 0;  // the second round sends multi-row INSERTs
    auto s = PostgresAuditSink::Open(o);
    REQUIRE_MESSAGE(s.ok(), s.status().message());
    for (int k = 0; k < 10; ++k) REQUIRE((*s)->Submit(Rec("r" + std::to_string(round * 10 + k))).ok());
    REQUIRE((*s)->Close().ok());
  }
  PgConn c = Connect(pg);
  const auto ids = VerifyChain(c.get(), "gw-restart");
  REQUIRE(ids.size() == 20);
  CHECK(ids.front() == "r0");
  CHECK(ids.back() == "r19");
}

TEST_CASE("PostgreSQL audit: a second live writer with the same instance is refused by name") {
  if (!PostgresAvailable()) return;
  PostgresServer pg;
  auto first = PostgresAuditSink::Open(Opts(pg, "gw-twin:8080"));
  REQUIRE_MESSAGE(first.ok(), first.status().message());
  auto second = PostgresAuditSink::Open(Opts(pg, "gw-twin:8080"));
  REQUIRE_FALSE(second.ok());
  CHECK(second.status().code() == Status::Code::kAlreadyExists);
  CHECK(second.status().message().find("'gw-twin:8080'") != std::string::npos);
  CHECK(second.status().message().find("audit.instance") != std::string::npos);
  // Another instance is fine meanwhile, and the id is free once the first closes.
  CHECK(PostgresAuditSink::Open(Opts(pg, "gw-other:8080")).ok());
  REQUIRE((*first)->Close().ok());
  CHECK(PostgresAuditSink::Open(Opts(pg, "gw-twin:8080")).ok());
}

TEST_CASE("PostgreSQL audit: the server stopped mid-load and restarted loses nothing acknowledged") {
  if (!PostgresAvailable()) return;
  PostgresServer pg;
  auto o = Opts(pg, "gw-outage");
  o.max_batch = 50;
  o.commit_timeout = std::chrono::milliseconds(60000);  // waiters wait the outage out
  auto sink = PostgresAuditSink::Open(o);
  REQUIRE_MESSAGE(sink.ok(), sink.status().message());
  PostgresAuditSink& s = **sink;

  std::mutex mu;
  std::set<std::string> acked;
  std::atomic<int> refused{0};
  auto submit = [&](int from, int to) {
    for (int k = from; k < to; ++k) {
      const std::string id = "o" + std::to_string(k);
      s.SubmitThen(Rec(id), [&, id](Status st) {
        if (!st.ok()) {
          ++refused;
          return;
        }
        std::lock_guard lock(mu);
        acked.insert(id);
      });
    }
  };
  submit(0, 500);
  REQUIRE(s.Flush().ok());
  pg.Stop();
  submit(500, 1000);  // queued while the server is down
  CHECK_FALSE(s.Flush().ok());  // the first failed commit is reported
  pg.Start();
  Status flushed;
  for (int i = 0; i < 100 && !(flushed = s.Flush()).ok(); ++i) {
  }
  REQUIRE_MESSAGE(flushed.ok(), flushed.message());
  const auto st = s.stats();
  CHECK(st.write_errors > 0);
  CHECK(st.reconnects >= 1);
  CHECK(st.written == 1000);
  REQUIRE(s.Close().ok());
  CHECK(refused == 0);

  PgConn c = Connect(pg);
  const auto ids = VerifyChain(c.get(), "gw-outage");
  CHECK(ids.size() == 1000);
  const std::set<std::string> stored(ids.begin(), ids.end());
  CHECK(stored.size() == 1000);
  for (const std::string& id : acked) CHECK(stored.count(id) == 1);
  CHECK(acked.size() == 1000);
}

TEST_CASE("PostgreSQL audit: a killed connection is re-established and the chain continues") {
  if (!PostgresAvailable()) return;
  PostgresServer pg;
  auto sink = PostgresAuditSink::Open(Opts(pg, "gw-killed"));
  REQUIRE_MESSAGE(sink.ok(), sink.status().message());
  for (int k = 0; k < 100; ++k) REQUIRE((*sink)->Submit(Rec("k" + std::to_string(k))).ok());
  REQUIRE((*sink)->Flush().ok());
  PgConn c = Connect(pg);
  // The writer's backend is the one holding the instance's advisory lock.
  auto killed = PgExec(c.get(),
                       "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                       "AND granted",
                       "terminate");
  REQUIRE_MESSAGE(killed.ok(), killed.status().message());
  REQUIRE(PQntuples(killed->get()) == 1);
  for (int k = 100; k < 200; ++k) REQUIRE((*sink)->Submit(Rec("k" + std::to_string(k))).ok());
  Status flushed;
  for (int i = 0; i < 100 && !(flushed = (*sink)->Flush()).ok(); ++i) {
  }
  REQUIRE_MESSAGE(flushed.ok(), flushed.message());
  CHECK((*sink)->stats().reconnects == 1);
  REQUIRE((*sink)->Close().ok());
  CHECK(VerifyChain(c.get(), "gw-killed").size() == 200);
}

TEST_CASE("PostgreSQL audit: a sync waiter is answered Unavailable after commit_timeout") {
  if (!PostgresAvailable()) return;
  PostgresServer pg;
  auto o = Opts(pg, "gw-timeout");
  o.durability = Durability::kSync;
  o.commit_timeout = std::chrono::milliseconds(150);
  auto sink = PostgresAuditSink::Open(o);
  REQUIRE_MESSAGE(sink.ok(), sink.status().message());
  REQUIRE((*sink)->Submit(Rec("before")).ok());
  pg.Stop();
  Status late = (*sink)->Submit(Rec("during"));
  CHECK(late.code() == Status::Code::kUnavailable);
  CHECK(late.message().find("not committed within 150 ms") != std::string::npos);
  CHECK((*sink)->stats().commit_timeouts == 1);
  pg.Start();
  Status flushed;
  for (int i = 0; i < 100 && !(flushed = (*sink)->Flush()).ok(); ++i) {
  }
  REQUIRE_MESSAGE(flushed.ok(), flushed.message());
  REQUIRE((*sink)->Close().ok());
  PgConn c = Connect(pg);
  CHECK(VerifyChain(c.get(), "gw-timeout") == std::vector<std::string>{"before", "during"});
}

TEST_CASE("PostgreSQL audit: a commit slower than io_timeout fails, is counted and retried") {
  if (!PostgresAvailable()) return;
  PostgresServer pg;
  auto o = Opts(pg, "gw-slow");
  o.durability = Durability::kSync;
  o.io_timeout = std::chrono::milliseconds(200);
  o.commit_timeout = std::chrono::milliseconds(300);
  auto sink = PostgresAuditSink::Open(o);
  REQUIRE_MESSAGE(sink.ok(), sink.status().message());
  REQUIRE((*sink)->Submit(Rec("a")).ok());
  // Another session holds the table: the writer's COPY waits on the lock.
  PgConn locker = Connect(pg);
  REQUIRE(PgExec(locker.get(), "BEGIN; LOCK TABLE tosgate_decisions IN ACCESS EXCLUSIVE MODE", "t")
              .ok());
  Status late = (*sink)->Submit(Rec("b"));
  CHECK(late.code() == Status::Code::kUnavailable);
  CHECK((*sink)->stats().write_errors >= 1);
  REQUIRE(PgExec(locker.get(), "COMMIT", "t").ok());
  Status flushed;
  for (int i = 0; i < 100 && !(flushed = (*sink)->Flush()).ok(); ++i) {
  }
  REQUIRE_MESSAGE(flushed.ok(), flushed.message());
  CHECK((*sink)->stats().reconnects >= 1);
  REQUIRE((*sink)->Close().ok());
  CHECK(VerifyChain(locker.get(), "gw-slow") == std::vector<std::string>{"a", "b"});
}

TEST_CASE("PostgreSQL audit: start-up errors are clear") {
  if (!PostgresAvailable()) return;
  PostgresServer pg("the-password");
  auto o = Opts(pg, "gw-auth");
  o.dsn = pg.DsnWithPassword("not-the-password");
  auto bad = PostgresAuditSink::Open(o);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == Status::Code::kInvalidArgument);
  CHECK(bad.status().message().find("authentication failed") != std::string::npos);
  CHECK(bad.status().message().find("not-the-password") == std::string::npos);

  o.dsn = "host=127.0.0.1 port=notaport";
  CHECK(PostgresAuditSink::Open(o).status().code() == Status::Code::kInvalidArgument);
  o.dsn = pg.Dsn();
  o.instance = "";
  CHECK(PostgresAuditSink::Open(o).status().message().find("instance") != std::string::npos);

  // A database whose tosgate_decisions is something else.
  PgConn c = Connect(pg);
  REQUIRE(PgExec(c.get(), "CREATE TABLE tosgate_decisions (x int)", "t").ok());
  o.instance = "gw-auth";
  auto foreign = PostgresAuditSink::Open(o);
  REQUIRE_FALSE(foreign.ok());
  CHECK(foreign.status().message().find("not a tosgate audit store") != std::string::npos);
}

TEST_CASE("PostgreSQL audit: awkward field values are stored as hashed, by COPY and by INSERT") {
  if (!PostgresAvailable()) return;
  PostgresServer pg;
  PgConn c = Connect(pg);
  for (const bool copy : {true, false}) {
    const std::string instance = copy ? "gw-odd-copy" : "gw-odd-insert";
    auto o = Opts(pg, instance);
    o.truncate_client_ip = true;
    o.use_copy = copy;
    auto sink = PostgresAuditSink::Open(o);
    REQUIRE_MESSAGE(sink.ok(), sink.status().message());
    engine::AuditRecord r = Rec("odd");
    r.path = std::string("/a\tb\nc\\d\r") + std::string(1, '\0') + "\xff\xfe" + "\xc3\xa9";
    r.reason = "\\N";  // COPY's NULL marker, as text
    r.risk = std::numeric_limits<double>::quiet_NaN();
    r.latency_us = -1;
    engine::AuditRecord exact = Rec("exact");
    exact.risk = 0.1 + 0.2;  // not representable in a short decimal
    REQUIRE((*sink)->Submit(r).ok());
    REQUIRE((*sink)->Submit(exact).ok());
    REQUIRE((*sink)->Close().ok());
    REQUIRE(VerifyChain(c.get(), instance).size() == 2);
    const char* params[] = {instance.c_str()};
    auto row = PgExecParams(c.get(),
                            "SELECT path, reason, risk IS NULL, client_ip FROM tosgate_decisions "
                            "WHERE instance = $1 ORDER BY seq",
                            1, params, "t");
    REQUIRE(row.ok());
    CHECK(PgText(row->get(), 0, 0) == "/a\tb\nc\\d\r\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xc3\xa9");
    CHECK(PgText(row->get(), 0, 1) == "\\N");
    CHECK(PgText(row->get(), 0, 2) == "t");
    CHECK(PgText(row->get(), 0, 3) == "203.0.113.0");
  }
}

TEST_CASE("MakeValidUtf8 replaces each bad byte and keeps valid text") {
  std::string ok = "caf\xc3\xa9 \xf0\x9f\x98\x80";
  CHECK_FALSE(MakeValidUtf8(&ok));
  std::string bad = std::string("a\xc3", 2) + "(" + "\xed\xa0\x80" + "\xf4\x90\x80\x80";
  CHECK(MakeValidUtf8(&bad));
  const std::string r = "\xef\xbf\xbd";  // U+FFFD
  CHECK(bad == "a" + r + "(" + r + r + r + r + r + r + r);
}

}  // namespace
}  // namespace tosgate::storage
