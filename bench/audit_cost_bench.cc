// What one audit record costs, stage by stage, on one thread: the figures
// behind docs/benchmarks.md's "Where a record's cost goes". Each stage is
// its own function (never inlined), so that
//
//   valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.out build/bench/audit_cost_bench --records 20000
//   callgrind_annotate --inclusive=yes /tmp/cg.out | grep Stage
//
// gives its instruction count (stable under load; divide by --records),
// while the program itself prints nanoseconds per record of wall clock and
// of this thread's CPU time (both disturbed by load, the wall clock most).
// Stages:
//   render   engine::AuditRecord -> AuditRow (ToAuditRow) and the field bounds
//   chain    the SHA-256 chain hash of a row (encoding + digest)
//   sha256   the digest alone over a buffer of the encoding's size, with
//            OpenSSL's one-shot SHA256() and with engine::Sha256
//   insert   the prepared INSERT of a row into the store's schema, in
//            transactions of --batch rows (synchronous=OFF, in a file under
//            --dir: SQLite's CPU, not the disk), with and without the
//            (account, time_ms) index, 8 and 32 rows per statement, and a
//            what-if compact table (one BLOB per record, not a tosgate format)
//   handoff  AuditBatchQueue::Submit to a writer whose commit does nothing
//            (the queue's lock, wake-ups and moves)
#include <openssl/sha.h>
#include <sqlite3.h>

#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "bench/audit_sample.h"
#include "engine/sha256.h"
#include "storage/audit/batch_queue.h"
#include "storage/audit/chain.h"
#include "storage/audit/fields.h"
#include "storage/audit/row.h"
#include "storage/audit/sqlite/schema.h"

namespace {

using namespace tosgate;
using Clock = std::chrono::steady_clock;

uint64_t g_sink = 0;  // keeps results alive

std::vector<engine::AuditRecord> Pool() {
  std::vector<engine::AuditRecord> pool;
  for (uint64_t i = 0; i < 1024; ++i) pool.push_back(bench::SampleAuditRecord(i));
  return pool;
}

std::vector<storage::AuditRow> Rows(const std::vector<engine::AuditRecord>& pool) {
  std::vector<storage::AuditRow> rows;
  for (const auto& r : pool) rows.push_back(storage::ToAuditRow(r));
  return rows;
}

__attribute__((noinline)) void StageRender(const std::vector<engine::AuditRecord>& pool,
                                           uint64_t n) {
  for (uint64_t i = 0; i < n; ++i) {
    engine::AuditRecord r = pool[i % pool.size()];  // the caller's copy, as Submit takes one
    storage::AuditRow row = storage::ToAuditRow(std::move(r));
    storage::BoundAuditRecord(&row);
    g_sink += row.matches.size();
  }
}

__attribute__((noinline)) void StageChain(const std::vector<storage::AuditRow>& rows, uint64_t n) {
  std::string prev = storage::AuditGenesisHash(), scratch;
  for (uint64_t i = 0; i < n; ++i) prev = storage::AuditChainHash(prev, i + 1, rows[i % rows.size()], &scratch);
  g_sink += static_cast<unsigned char>(prev[0]);
}

// `one_shot`: OpenSSL's SHA256(), else engine::Sha256 (EVP, context reused).
__attribute__((noinline)) void StageSha256(size_t bytes, uint64_t n, bool one_shot) {
  std::string buf(bytes, 'x');
  unsigned char out[32];
  for (uint64_t i = 0; i < n; ++i) {
    buf[0] = static_cast<char>(i);
    if (one_shot)
      SHA256(reinterpret_cast<const unsigned char*>(buf.data()), buf.size(), out);
    else
      engine::Sha256(buf, out);
  }
  g_sink += out[0];
}

void RemoveDb(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
}

// `index`: keep the schema's (account, time_ms) index (else dropped);
// `per`: rows per INSERT statement (storage::InsertDecisionsSql).
__attribute__((noinline)) void StageInsert(const std::string& path,
                                           const std::vector<storage::AuditRow>& rows, uint64_t n,
                                           uint64_t batch, bool index, int per = 1) {
  RemoveDb(path);
  sqlite3* db = nullptr;
  // NOMUTEX, as the sink opens its connection.
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                  nullptr);
  sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF; PRAGMA cache_size=-65536",
               nullptr, nullptr, nullptr);
  if (!storage::EnsureAuditSchema(db, path).ok()) std::abort();
  if (!index) sqlite3_exec(db, "DROP INDEX decisions_account_time", nullptr, nullptr, nullptr);
  sqlite3_stmt* ins = nullptr;
  const std::string sql = storage::InsertDecisionsSql(per);
  sqlite3_prepare_v2(db, sql.c_str(), -1, &ins, nullptr);
  const std::string hash(32, '\x11');
  std::vector<storage::AuditRow> mine = rows;  // time_ms set per record below
  const uint64_t step = static_cast<uint64_t>(per);
  batch = (batch + step - 1) / step * step;  // whole statements per transaction
  n = n / step * step;
  for (uint64_t i = 0; i < n; i += step) {
    if (i % batch == 0) sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
    for (uint64_t k = 0; k < step; ++k) {
      storage::AuditRow& row = mine[(i + k) % mine.size()];
      row.time_ms = rows[0].time_ms + static_cast<int64_t>(i + k);
      storage::BindDecision(ins, i + k + 1, row, hash, hash,
                            static_cast<int>(k) * storage::kDecisionParams + 1);
    }
    if (sqlite3_step(ins) != SQLITE_DONE) std::abort();
    sqlite3_reset(ins);
    if ((i + step) % batch == 0 || i + step >= n)
      sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  }
  sqlite3_finalize(ins);
  sqlite3_close(db);
  RemoveDb(path);
}

// What-if, not a format tosgate writes: each record as one BLOB (its chain
// encoding) beside the columns the indexes need, with the same two indexes.
// How much of SQLite's cost is the 24 columns rather than the B-trees.
__attribute__((noinline)) void StageCompact(const std::string& path,
                                            const std::vector<storage::AuditRow>& rows,
                                            uint64_t n, uint64_t batch) {
  RemoveDb(path);
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                  nullptr);
  sqlite3_exec(db,
               "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF; PRAGMA cache_size=-65536;"
               "CREATE TABLE c (seq INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, account TEXT "
               "NOT NULL, body BLOB NOT NULL, hash BLOB NOT NULL);"
               "CREATE INDEX c_account_time ON c (account, time_ms);"
               "CREATE INDEX c_time ON c (time_ms);",
               nullptr, nullptr, nullptr);
  sqlite3_stmt* ins = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO c VALUES (?1, ?2, ?3, ?4, ?5)", -1, &ins, nullptr);
  std::vector<std::string> bodies;
  for (const auto& r : rows) {
    std::string body;
    (void)storage::AuditChainHash(storage::AuditGenesisHash(), 1, r, &body);
    bodies.push_back(std::move(body));
  }
  const std::string hash(32, '\x11');
  for (uint64_t i = 0; i < n; ++i) {
    if (i % batch == 0) sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
    const storage::AuditRow& row = rows[i % rows.size()];
    const std::string& body = bodies[i % rows.size()];
    sqlite3_bind_int64(ins, 1, static_cast<sqlite3_int64>(i + 1));
    sqlite3_bind_int64(ins, 2, rows[0].time_ms + static_cast<int64_t>(i));
    sqlite3_bind_text(ins, 3, row.account.data(), static_cast<int>(row.account.size()), SQLITE_STATIC);
    sqlite3_bind_blob(ins, 4, body.data(), static_cast<int>(body.size()), SQLITE_STATIC);
    sqlite3_bind_blob(ins, 5, hash.data(), 32, SQLITE_STATIC);
    if (sqlite3_step(ins) != SQLITE_DONE) std::abort();
    sqlite3_reset(ins);
    if (i % batch == batch - 1 || i == n - 1) sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  }
  sqlite3_finalize(ins);
  sqlite3_close(db);
  RemoveDb(path);
}

__attribute__((noinline)) void StageHandoff(const std::vector<storage::AuditRow>& rows,
                                            uint64_t n) {
  storage::AuditBatchQueue::Options opts;
  opts.queue_capacity = 1 << 20;
  opts.queue_wait = std::chrono::seconds(10);
  storage::AuditBatchQueue::Texts texts;
  texts.who = "bench: ";
  storage::AuditBatchQueue q(opts, texts);
  q.Start([](const auto& batch) {
    g_sink += batch.size();
    return Status::Ok();
  }, nullptr);
  for (uint64_t i = 0; i < n; ++i) {
    if (!q.Submit(rows[i % rows.size()], false).ok()) std::abort();
  }
  (void)q.Flush();
  (void)q.Close(nullptr);
}

// This thread's CPU time (user and system): what a stage costs when the
// box is loaded and the wall clock mostly measures waiting for a core.
double ThreadCpuNs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

template <class F>
void Time(const char* name, uint64_t n, F&& f) {
  const auto t0 = Clock::now();
  const double c0 = ThreadCpuNs();
  f();
  const double cpu = ThreadCpuNs() - c0;
  const double ns = std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
  const double per = static_cast<double>(n);
  std::printf("%-38s %9.0f ns/record wall %9.0f ns/record CPU (this thread)\n", name, ns / per,
              cpu / per);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t n = 100000, batch = 16384;
  std::string dir = "/tmp", only;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--records") n = std::strtoull(v.c_str(), nullptr, 10);
    else if (a == "--batch") batch = std::strtoull(v.c_str(), nullptr, 10);
    else if (a == "--dir") dir = v;
    else if (a == "--only") only = v;
    else {
      std::fprintf(stderr, "usage: audit_cost_bench [--records N] [--batch N] [--dir DIR] [--only STAGE]\n");
      return 2;
    }
  }
  const auto pool = Pool();
  const auto rows = Rows(pool);
  std::string probe;
  (void)storage::AuditChainHash(storage::AuditGenesisHash(), 1, rows[1], &probe);
  const std::string path = dir + "/tosgate-audit-cost-bench.db";
  auto want = [&](const char* s) { return only.empty() || only == s; };
  std::printf("audit_cost_bench: %llu records, one thread, chain encoding %zu bytes\n",
              static_cast<unsigned long long>(n), probe.size());
  if (want("render")) Time("render (ToAuditRow + bounds)", n, [&] { StageRender(pool, n); });
  if (want("chain")) Time("chain (encode + SHA-256)", n, [&] { StageChain(rows, n); });
  if (want("sha256")) {
    Time("SHA-256 alone, OpenSSL SHA256()", n, [&] { StageSha256(probe.size(), n, true); });
    Time("SHA-256 alone, engine::Sha256", n, [&] { StageSha256(probe.size(), n, false); });
  }
  if (want("insert")) {
    Time("insert, schema indexes", n, [&] { StageInsert(path, rows, n, batch, true); });
    Time("insert, no (account, time_ms)", n, [&] { StageInsert(path, rows, n, batch, false); });
    Time("insert, 8 rows per statement", n, [&] { StageInsert(path, rows, n, batch, true, 8); });
    Time("insert, 32 rows per statement", n, [&] { StageInsert(path, rows, n, batch, true, 32); });
    Time("what-if: one BLOB + indexed columns", n, [&] { StageCompact(path, rows, n, batch); });
  }
  if (want("handoff")) Time("hand-off (queue, no-op commit)", n, [&] { StageHandoff(rows, n); });
  return g_sink == 0xdeadbeef ? 1 : 0;
}
