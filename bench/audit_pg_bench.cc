// PostgreSQL audit sink against the SQLite one, same run, same records:
// N submitting threads, async and sync durability; records/s from the first
// Submit until everything is committed, and Submit's p50/p99 latency. The
// PostgreSQL sink is measured sending batches as COPY and as multi-row
// INSERTs. Each figure is the median of --runs runs. Needs a PostgreSQL
// (bench/audit_pg_bench.sh starts a throwaway one).
//
//   audit_pg_bench --dsn DSN [--records 200000] [--sync-records 20000]
//                  [--threads 8] [--runs 3] [--dir /tmp]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "bench/audit_sample.h"
#include "storage/audit/postgres/sink.h"
#include "storage/audit/postgres/util.h"
#include "storage/audit/sqlite/sink.h"

namespace {

using namespace tosgate;
using Clock = std::chrono::steady_clock;

engine::AuditRecord Sample(uint64_t i) { return bench::SampleAuditRecord(i); }

struct Figures {
  double records_per_s = 0, p50_us = 0, p99_us = 0;
  uint64_t batches = 0;
};

// `threads` threads submit n records in all to `sink`, then Flush.
template <typename Sink>
Figures Drive(Sink& sink, int threads, uint64_t n) {
  std::vector<engine::AuditRecord> pool;
  for (uint64_t i = 0; i < 1024; ++i) pool.push_back(Sample(i));
  const uint64_t per = n / static_cast<uint64_t>(threads);
  std::vector<std::vector<float>> lat(static_cast<size_t>(threads));
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      auto& mine = lat[static_cast<size_t>(t)];
      mine.reserve(per);
      ++ready;
      while (!go.load()) std::this_thread::yield();
      for (uint64_t i = 0; i < per; ++i) {
        const uint64_t k = static_cast<uint64_t>(t) * per + i;
        engine::AuditRecord r = pool[k % pool.size()];
        r.time_ms += static_cast<int64_t>(k);
        const auto a = Clock::now();
        Status s = sink.Submit(std::move(r));
        mine.push_back(std::chrono::duration<float, std::micro>(Clock::now() - a).count());
        if (!s.ok()) std::fprintf(stderr, "submit: %s\n", s.message().c_str());
      }
    });
  }
  while (ready.load() < threads) std::this_thread::yield();
  const auto t0 = Clock::now();
  go = true;
  for (auto& t : ts) t.join();
  Status f = sink.Flush();
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  if (!f.ok()) std::fprintf(stderr, "flush: %s\n", f.message().c_str());
  Figures out;
  out.records_per_s = static_cast<double>(per * static_cast<uint64_t>(threads)) / secs;
  out.batches = sink.stats().batches;
  std::vector<float> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  if (!all.empty()) {
    out.p50_us = all[all.size() / 2];
    out.p99_us = all[all.size() * 99 / 100];
  }
  return out;
}

Figures RunSqlite(const std::string& dir, bool sync, int threads, uint64_t n) {
  const std::string path = dir + "/audit_pg_bench.db";
  for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(path + s);
  storage::SqliteAuditOptions o;
  o.path = path;
  o.durability = sync ? storage::Durability::kSync : storage::Durability::kAsync;
  o.queue_wait = std::chrono::milliseconds(10000);  // measure backpressure, not refusals
  auto sink = storage::SqliteAuditSink::Open(o);
  if (!sink.ok()) {
    std::fprintf(stderr, "sqlite: %s\n", sink.status().message().c_str());
    return {};
  }
  Figures f = Drive(**sink, threads, n);
  (void)(*sink)->Close();
  sink->reset();
  for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(path + s);
  return f;
}

Figures RunPostgres(const std::string& dsn, bool copy, bool sync, int threads, uint64_t n) {
  // Every run starts from an empty table, as the SQLite runs start from an empty file.
  if (auto c = storage::ConnectPostgres(dsn); c.ok())
    storage::PgResult(PQexec(c->get(), "DROP TABLE IF EXISTS tosgate_decisions, tosgate_meta"));
  storage::PostgresAuditOptions o;
  o.dsn = dsn;
  o.instance = "bench";
  o.use_copy = copy;
  o.durability = sync ? storage::Durability::kSync : storage::Durability::kAsync;
  o.queue_wait = std::chrono::milliseconds(10000);
  auto sink = storage::PostgresAuditSink::Open(o);
  if (!sink.ok()) {
    std::fprintf(stderr, "postgres: %s\n", sink.status().message().c_str());
    return {};
  }
  Figures f = Drive(**sink, threads, n);
  (void)(*sink)->Close();
  return f;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::string dsn, dir = std::filesystem::temp_directory_path().string();
  uint64_t records = 200000, sync_records = 20000;
  int threads = 8, runs = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : "";
    if (a == "--dsn") dsn = v, ++i;
    else if (a == "--dir") dir = v, ++i;
    else if (a == "--records") records = std::strtoull(v, nullptr, 10), ++i;
    else if (a == "--sync-records") sync_records = std::strtoull(v, nullptr, 10), ++i;
    else if (a == "--threads") threads = std::max(1, std::atoi(v)), ++i;
    else if (a == "--runs") runs = std::max(1, std::atoi(v)), ++i;
    else {
      std::fprintf(stderr,
                   "usage: audit_pg_bench --dsn DSN [--records N] [--sync-records N] "
                   "[--threads N] [--runs N] [--dir DIR]\n");
      return 2;
    }
  }
  if (dsn.empty()) {
    std::fprintf(stderr, "audit_pg_bench: --dsn is required (bench/audit_pg_bench.sh starts a server)\n");
    return 2;
  }
  std::printf("audit sinks, %d submitting threads, median of %d runs; PostgreSQL %s\n", threads,
              runs, storage::RedactDsn(dsn).c_str());
  std::printf("%-22s %-6s %9s %12s %10s %10s %9s\n", "sink", "mode", "records", "records/s",
              "p50 us", "p99 us", "batches");
  for (const bool sync : {false, true}) {
    const uint64_t n = sync ? sync_records : records;
    struct Row {
      const char* name;
      std::function<Figures()> run;
    };
    const std::vector<Row> rows{
        {"sqlite", [&] { return RunSqlite(dir, sync, threads, n); }},
        {"postgres (COPY)", [&] { return RunPostgres(dsn, true, sync, threads, n); }},
        {"postgres (INSERT)", [&] { return RunPostgres(dsn, false, sync, threads, n); }},
    };
    std::map<std::string, std::vector<Figures>> got;
    for (int r = 0; r < runs; ++r)  // interleaved, so drift hits every sink alike
      for (const Row& row : rows) got[row.name].push_back(row.run());
    for (const Row& row : rows) {
      std::vector<double> rps, p50, p99, batches;
      for (const Figures& f : got[row.name]) {
        rps.push_back(f.records_per_s);
        p50.push_back(f.p50_us);
        p99.push_back(f.p99_us);
        batches.push_back(static_cast<double>(f.batches));
      }
      std::printf("%-22s %-6s %9llu %12.0f %10.1f %10.1f %9.0f\n", row.name,
                  sync ? "sync" : "async", static_cast<unsigned long long>(n), Median(rps),
                  Median(p50), Median(p99), Median(batches));
    }
  }
  // Disk per record, for sizing: the last run's table with its indexes.
  if (auto c = storage::ConnectPostgres(dsn); c.ok()) {
    storage::PgResult r(PQexec(c->get(), "VACUUM ANALYZE tosgate_decisions"));
    r.reset(PQexec(c->get(), "SELECT count(*), pg_total_relation_size('tosgate_decisions'), "
                             "pg_relation_size('tosgate_decisions') FROM tosgate_decisions"));
    if (PQresultStatus(r.get()) == PGRES_TUPLES_OK) {
      const double rows = std::atof(PQgetvalue(r.get(), 0, 0));
      if (rows > 0) {
        std::printf("postgres: %.0f bytes per record on disk with its indexes (%.0f in the table)\n",
                    std::atof(PQgetvalue(r.get(), 0, 1)) / rows,
                    std::atof(PQgetvalue(r.get(), 0, 2)) / rows);
      }
    }
  }
  return 0;
}
