// How fast `tosgate audit query` answers on a large store. Fills a store with
// N records (default 10M: 10,000 accounts in 1,000 orgs over 3 days) by
// direct batched inserts, then times one account over one day (first page
// and every row), one org over an hour, and stats, each the median of
// several runs on different accounts and days. A plain main printing figures.
//
//   audit_query_bench [--db FILE] [--records N] [--accounts N] [--days N] [--runs N] [--keep]
//
// An existing FILE with the requested record count is reused (--keep leaves
// it for the next run).
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "storage/audit/query.h"
#include "storage/audit/sqlite/schema.h"

namespace {

using namespace tosgate;
using Clock = std::chrono::steady_clock;

constexpr int64_t kStart = 1764288000000;  // 2025-11-28T00:00:00Z
constexpr int64_t kDay = 86400000;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

std::string Hex64(std::mt19937_64& rng) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s(64, '0');
  for (size_t i = 0; i < 64; i += 16) {
    uint64_t x = rng();
    for (size_t j = 0; j < 16; ++j, x >>= 4) s[i + j] = kHex[x & 15];
  }
  return s;
}

bool Check(int rc, sqlite3* db, const char* what) {
  if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return true;
  std::fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
  return false;
}

// The records in a store of the current schema version; -1 for anything else
// (missing, older schema), which the bench then fills anew.
int64_t CountRows(const std::string& path) {
  sqlite3* db = nullptr;
  int64_t n = -1;
  const std::string sql = "SELECT CASE WHEN (SELECT user_version FROM pragma_user_version) = " +
                          std::to_string(storage::kAuditSchemaVersion) +
                          " THEN max(seq) ELSE -1 END FROM decisions";
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
      n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return n;
}

// Inserts `n` records in time order, one transaction per 100k, with the
// schema's indexes and the query indexes in place (as a live store has them).
bool Fill(const std::string& path, int64_t n, int accounts, int days) {
  std::filesystem::remove(path);
  std::filesystem::remove(path + "-wal");
  std::filesystem::remove(path + "-shm");
  sqlite3* db = nullptr;
  if (!Check(sqlite3_open(path.c_str(), &db), db, "open")) return false;
  sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF; PRAGMA cache_size=-1000000",
               nullptr, nullptr, nullptr);
  if (!storage::EnsureAuditSchema(db, path).ok() || !storage::EnsureQueryIndexes(db).ok())
    return false;
  sqlite3_stmt* ins = nullptr;
  if (!Check(sqlite3_prepare_v2(db, storage::kInsertDecisionSql, -1, &ins, nullptr), db, "prepare"))
    return false;
  std::mt19937_64 rng(42);
  std::vector<std::string> key_ids;
  for (int i = 0; i < accounts; ++i) key_ids.push_back(Hex64(rng));
  const std::string hash(32, '\x5a');
  const int64_t span = static_cast<int64_t>(days) * kDay;
  const auto t0 = Clock::now();
  storage::AuditRow r;
  r.method = "POST";
  r.path = "/v1/chat/completions";
  r.operation = "chat";
  r.policy_revision = "rev-2025-11-27";
  for (int64_t i = 0; i < n; ++i) {
    if (i % 100000 == 0) sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
    const int a = static_cast<int>(rng() % static_cast<uint64_t>(accounts));
    const uint64_t dice = rng() % 100;
    r.time_ms = kStart + i * span / n;
    r.id = "dec_" + std::to_string(i);
    r.request_id = "req-" + std::to_string(rng() % 1000000000);
    r.account = "acct_" + std::to_string(a);
    r.org = "org_" + std::to_string(a % 1000);
    r.key_id = key_ids[static_cast<size_t>(a)];
    r.client_ip = "203.0.113." + std::to_string(a % 250);
    r.model = dice % 2 ? "m-large" : "m-small";
    r.effect = dice < 90 ? "allow" : dice < 97 ? "throttle" : "deny";
    r.status = dice < 90 ? 200 : dice < 97 ? 429 : 403;
    r.reason = dice < 90 ? "" : dice < 97 ? "rate-limited" : "purpose-not-allowed";
    r.rule_ids = dice < 90   ? "[]"
                 : dice < 97 ? R"(["rate.per-key-rpm"])"
                             : R"(["purpose.no-model-training"])";
    r.matches =
        dice < 90 ? "[]"
                  : R"([{"rule":")" +
                        std::string(dice < 97 ? "rate.per-key-rpm" : "purpose.no-model-training") +
                        R"(","action":"deny","shadow":false,"detail":""}])";
    r.risk = static_cast<double>(rng() % 1000) / 1000.0;
    r.prompt_sha256 = Hex64(rng);
    r.latency_us = static_cast<int64_t>(rng() % 50);
    if (!Check(storage::BindDecision(ins, static_cast<uint64_t>(i + 1), r, hash, hash), db,
               "bind") ||
        !Check(sqlite3_step(ins), db, "insert"))
      return false;
    sqlite3_reset(ins);
    if (i % 100000 == 99999 || i == n - 1) {
      sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
      if (i % 1000000 == 999999)
        std::fprintf(stderr, "  %lld records, %.0f s\n", static_cast<long long>(i + 1),
                     Ms(Clock::now() - t0) / 1000);
    }
  }
  sqlite3_finalize(ins);
  sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE); ANALYZE", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  const double s = Ms(Clock::now() - t0) / 1000;
  std::printf("filled %lld records in %.1f s (%.0f records/s)\n", static_cast<long long>(n), s,
              static_cast<double>(n) / s);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string path = "/tmp/tosgate-audit-query-bench.db";
  int64_t records = 10000000;
  int accounts = 10000, days = 3, runs = 21;
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : "";
    if (a == "--db")
      path = v, ++i;
    else if (a == "--records")
      records = std::atoll(v), ++i;
    else if (a == "--accounts")
      accounts = std::atoi(v), ++i;
    else if (a == "--days")
      days = std::atoi(v), ++i;
    else if (a == "--runs")
      runs = std::atoi(v), ++i;
    else if (a == "--keep")
      keep = true;
    else {
      std::fprintf(stderr,
                   "usage: audit_query_bench [--db FILE] [--records N] [--accounts N] "
                   "[--days N] [--runs N] [--keep]\n");
      return 2;
    }
  }
  if (records <= 0 || accounts <= 0 || days <= 0 || runs <= 0) return 2;
  if (CountRows(path) != records && !Fill(path, records, accounts, days)) return 1;
  std::printf("store %s: %lld records, %d accounts, %d days, %.2f GB\n", path.c_str(),
              static_cast<long long>(records), accounts, days,
              static_cast<double>(std::filesystem::file_size(path)) / 1e9);

  auto q = storage::AuditQuery::Open(path);
  if (!q.ok()) {
    std::fprintf(stderr, "%s\n", q.status().ToString().c_str());
    return 1;
  }
  std::mt19937_64 rng(7);
  std::vector<double> page_ms, all_ms, org_ms, stats_ms, rule_ms;
  size_t rows_day = 0;
  auto plan = (*q)->Plan({.account = "acct_1", .since_ms = kStart, .until_ms = kStart + kDay});
  std::printf("plan (account, day): %s", plan.ok() ? plan->c_str() : "?\n");
  for (int run = 0; run < runs; ++run) {
    const std::string account = "acct_" + std::to_string(rng() % static_cast<uint64_t>(accounts));
    const int64_t day = kStart + static_cast<int64_t>(rng() % static_cast<uint64_t>(days)) * kDay;
    storage::AuditFilter f{.account = account, .since_ms = day, .until_ms = day + kDay};
    auto t = Clock::now();
    auto page = (*q)->Page(f, 100);
    page_ms.push_back(Ms(Clock::now() - t));
    if (!page.ok()) return 1;
    t = Clock::now();
    size_t n = 0;
    if (!(*q)->ForEach(f, [&n](const storage::StoredDecision&) { return ++n, true; }).ok())
      return 1;
    all_ms.push_back(Ms(Clock::now() - t));
    rows_day = n;
    f.rule = "purpose.no-model-training";
    t = Clock::now();
    if (!(*q)->Page(f, 100).ok()) return 1;
    rule_ms.push_back(Ms(Clock::now() - t));
    const int64_t hour = day + static_cast<int64_t>(rng() % 24) * 3600000;
    storage::AuditFilter of{
        .org = "org_" + std::to_string(rng() % 1000), .since_ms = hour, .until_ms = hour + 3600000};
    t = Clock::now();
    n = 0;
    if (!(*q)->ForEach(of, [&n](const storage::StoredDecision&) { return ++n, true; }).ok())
      return 1;
    org_ms.push_back(Ms(Clock::now() - t));
    if (run < 5) {  // a day of stats reads ~3M rows; fewer runs
      t = Clock::now();
      if (!(*q)->Stats({.since_ms = hour, .until_ms = hour + 3600000}).ok()) return 1;
      stats_ms.push_back(Ms(Clock::now() - t));
    }
  }
  std::printf("one account, one day, first page of 100:   median %.3f ms (max %.3f)\n",
              Median(page_ms), *std::max_element(page_ms.begin(), page_ms.end()));
  std::printf("one account, one day, all rows (~%zu):      median %.3f ms\n", rows_day,
              Median(all_ms));
  std::printf("one account, one day, --rule, first page:  median %.3f ms\n", Median(rule_ms));
  std::printf("one org, one hour, all rows:               median %.3f ms\n", Median(org_ms));
  std::printf("stats, one hour (all accounts):            median %.3f ms\n", Median(stats_ms));
  if (!keep) {
    std::filesystem::remove(path);
    std::filesystem::remove(path + "-wal");
    std::filesystem::remove(path + "-shm");
  }
  return 0;
}
