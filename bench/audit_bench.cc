// Audit store throughput, side by side in one run:
//   - a plain SQLite insert loop (same table and indexes, no hash chain),
//     committing batches of 100 under synchronous=FULL: the yardstick;
//   - SqliteAuditSink with 1, 8 and 64 concurrent writer threads, in async
//     and (when the sink has it) sync durability: records/s from the first
//     Submit until everything is committed, and Submit's latency p50/p99.
// A plain main printing figures (not a timed test).
//
//   audit_bench [--records N] [--dir DIR] [--threads 1,8,64] [--modes async,sync]
//               [--skip-plain] [--what-if] [--what-if-sync] [--max-batch N] [--window N]
//               [--fsync-probe] [--linger US] [--rate N]
//
// --linger sets the sink's group window (SqliteAuditOptions::linger, µs);
// --rate paces the writers to N records/s in all (a gateway's steady load
// rather than a flood), where the window decides how many go per commit.
//
// --fsync-probe first measures the disk under --dir: a 4 KB append then
// fdatasync, in a loop for 2 s (what one sync commit costs at least), and
// the same with 1 MB appends (the bandwidth a sync commit can have).
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "bench/audit_sample.h"
#include "storage/audit/chain.h"
#include "storage/audit/query.h"
#include "storage/audit/sqlite/schema.h"
#include "storage/audit/sqlite/sink.h"

namespace {

using namespace tosgate;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

engine::AuditRecord Sample(uint64_t i) { return bench::SampleAuditRecord(i); }

void RemoveDb(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
}

// Appends `bytes` and fdatasyncs, for 2 s; prints syncs/s and MB/s.
void FsyncProbe(const std::string& dir, size_t bytes) {
  const std::string path = dir + "/tosgate-fsync-probe";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) {
    std::perror(path.c_str());
    return;
  }
  std::string buf(bytes, 'x');
  uint64_t syncs = 0;
  const auto t0 = Clock::now();
  while (Clock::now() - t0 < std::chrono::seconds(2)) {
    if (::write(fd, buf.data(), buf.size()) != static_cast<ssize_t>(buf.size()) ||
        ::fdatasync(fd) != 0) {
      std::perror("fsync probe");
      break;
    }
    ++syncs;
  }
  const double s = Seconds(Clock::now() - t0);
  ::close(fd);
  std::filesystem::remove(path);
  std::printf("fsync probe, %7zu-byte append + fdatasync: %8.0f syncs/s (%.2f ms each), %6.1f MB/s\n",
              bytes, static_cast<double>(syncs) / s, 1000 * s / static_cast<double>(syncs),
              static_cast<double>(syncs * bytes) / s / 1e6);
}

// How the plain loop runs: the yardstick is batches of 100, FULL, SQLite's
// defaults otherwise; the variants show what each setting costs (--what-if).
struct LoopConfig {
  uint64_t batch = 100;
  bool full = true;
  int cache_kb = 0;        // PRAGMA cache_size=-N when set
  int autocheckpoint = 0;  // PRAGMA wal_autocheckpoint=N when set
  bool drop_account_index = false;
  bool org_index = false;  // storage::EnsureQueryIndexes's (org, time_ms)
  bool chain = false;      // hash each record as the sink does (SHA-256 of its fields)
  int page_size = 0;       // PRAGMA page_size=N before WAL mode when set
};

// Bytes this process has had written to storage so far (every thread;
// /proc/self/io's write_bytes), or 0 where the kernel does not say.
uint64_t WrittenBytes() {
  FILE* f = std::fopen("/proc/self/io", "r");
  if (!f) return 0;
  char line[128];
  unsigned long long v = 0;
  while (std::fgets(line, sizeof line, f))
    if (std::sscanf(line, "write_bytes: %llu", &v) == 1) break;
  std::fclose(f);
  return v;
}
double g_loop_bytes_per_record = 0;  // the last PlainLoop's

// A prepared INSERT in a loop, BEGIN/COMMIT every cfg.batch rows.
double PlainLoop(const std::string& path, uint64_t n, const LoopConfig& cfg) {
  RemoveDb(path);
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  std::string pragmas =
      (cfg.page_size ? "PRAGMA page_size=" + std::to_string(cfg.page_size) + ";" : std::string()) +
      std::string("PRAGMA journal_mode=WAL; PRAGMA synchronous=") +
                        (cfg.full ? "FULL;" : "NORMAL;");
  if (cfg.cache_kb) pragmas += "PRAGMA cache_size=-" + std::to_string(cfg.cache_kb) + ";";
  if (cfg.autocheckpoint)
    pragmas += "PRAGMA wal_autocheckpoint=" + std::to_string(cfg.autocheckpoint) + ";";
  sqlite3_exec(db, pragmas.c_str(), nullptr, nullptr, nullptr);
  if (!storage::EnsureAuditSchema(db, path).ok()) return 0;
  if (cfg.drop_account_index)
    sqlite3_exec(db, "DROP INDEX decisions_account_time", nullptr, nullptr, nullptr);
  if (cfg.org_index && !storage::EnsureQueryIndexes(db).ok()) return 0;
  sqlite3_stmt* ins = nullptr;
  sqlite3_prepare_v2(db, storage::kInsertDecisionSql, -1, &ins, nullptr);
  std::vector<engine::AuditRecord> pool;
  for (uint64_t i = 0; i < 1024; ++i) pool.push_back(Sample(i));
  std::string prev(32, '\x11'), scratch;
  const uint64_t written0 = WrittenBytes();
  const auto t0 = Clock::now();
  for (uint64_t i = 0; i < n; ++i) {
    if (i % cfg.batch == 0) sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
    // The sink copies the record and renders its columns too.
    storage::AuditRow r = storage::ToAuditRow(pool[i % pool.size()]);
    r.time_ms += static_cast<int64_t>(i);
    std::string hash = cfg.chain ? storage::AuditChainHash(prev, i + 1, r, &scratch) : prev;
    storage::BindDecision(ins, i + 1, r, prev, hash);
    if (sqlite3_step(ins) != SQLITE_DONE) {
      std::fprintf(stderr, "plain loop: %s\n", sqlite3_errmsg(db));
      return 0;
    }
    sqlite3_reset(ins);
    prev = std::move(hash);
    if (i % cfg.batch == cfg.batch - 1 || i == n - 1)
      sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  }
  const double s = Seconds(Clock::now() - t0);
  g_loop_bytes_per_record =
      static_cast<double>(WrittenBytes() - written0) / static_cast<double>(n);
  sqlite3_finalize(ins);
  sqlite3_close(db);
  RemoveDb(path);
  return static_cast<double>(n) / s;
}

// One thread's records submitted with SubmitThen and not yet committed.
struct Flight {
  std::mutex mu;
  std::condition_variable cv;
  int in_flight = 0;
};

struct SinkResult {
  double records_per_s = 0;
  double p50_us = 0, p99_us = 0;  // Submit's latency
  uint64_t rejected = 0, batches = 0;
  double bytes_per_record = 0;  // written to storage up to the last commit
  double cpu_us_per_record = 0;  // the process (paced: its sink threads), user + system
  // The sink's busiest own thread (its writer) per record: 1e6 / this is
  // what the writer could do with a core to itself, whatever the load.
  double writer_cpu_us_per_record = 0;
  double commits_per_s = 0;
};

// The ids of this process's threads now (/proc/self/task).
std::vector<int> TaskIds() {
  std::vector<int> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/task", ec))
    out.push_back(std::atoi(e.path().filename().c_str()));
  return out;
}

// Thread `tid`'s time on a CPU so far, in seconds (schedstat's first
// field, ns); 0 once it is gone or where the kernel does not say.
double TaskCpuSeconds(int tid) {
  const std::string path = "/proc/self/task/" + std::to_string(tid) + "/schedstat";
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f) return 0;
  unsigned long long ns = 0;
  if (std::fscanf(f, "%llu", &ns) != 1) ns = 0;
  std::fclose(f);
  return static_cast<double>(ns) / 1e9;
}

// Sets the sink's durability mode when it has one (the sync mode is being
// added); `sync` without it falls back to synchronous=FULL commits.
template <typename Options>
bool SetMode(Options* o, bool sync) {
  if constexpr (requires { std::remove_cvref_t<decltype(o->durability)>::kSync; }) {
    using D = std::remove_cvref_t<decltype(o->durability)>;
    o->durability = sync ? D::kSync : D::kAsync;
    return true;
  } else {
    o->synchronous_full = sync;
    return false;
  }
}

// `window` > 0: each thread keeps up to `window` records in flight with
// SubmitThen (as a server does with many open requests per thread) and the
// latency runs from SubmitThen to its callback.
size_t g_max_batch = 0;  // --max-batch: the sink's max_batch when set
int g_window = 64;       // --window: records in flight per writer in the SubmitThen rows
long g_linger_us = -1;   // --linger: the sink's group window (µs) when set
double g_rate = 0;       // --rate: records/s over all writers, paced; 0: as fast as they go

// This process's CPU time so far (every thread, user + system).
double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

SinkResult RunSink(const std::string& path, bool sync, int threads, uint64_t n, int window = 0) {
  RemoveDb(path);
  storage::SqliteAuditOptions opts;
  opts.path = path;
  if (g_max_batch) opts.max_batch = g_max_batch;
  if (g_linger_us >= 0) opts.linger = std::chrono::microseconds(g_linger_us);
  opts.queue_wait = std::chrono::milliseconds(10000);  // measure backpressure, not refusals
  SetMode(&opts, sync);
  const std::vector<int> tasks_before = TaskIds();
  auto sink = storage::SqliteAuditSink::Open(opts);
  if (!sink.ok()) {
    std::fprintf(stderr, "%s\n", sink.status().ToString().c_str());
    return {};
  }
  // The threads Open started (the writer, the WAL checkpointer).
  std::vector<int> sink_tasks;
  for (int tid : TaskIds())
    if (std::find(tasks_before.begin(), tasks_before.end(), tid) == tasks_before.end())
      sink_tasks.push_back(tid);
  std::vector<double> sink_cpu0;
  for (int tid : sink_tasks) sink_cpu0.push_back(TaskCpuSeconds(tid));
  std::vector<engine::AuditRecord> pool;
  for (uint64_t i = 0; i < 1024; ++i) pool.push_back(Sample(i));
  std::vector<std::vector<float>> lat(static_cast<size_t>(threads));
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  const uint64_t per = n / static_cast<uint64_t>(threads);
  std::vector<std::thread> ts;
  std::atomic<double> producers_cpu{0};  // the submitting threads' own CPU
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      auto& mine = lat[static_cast<size_t>(t)];
      Flight flight;
      mine.reserve(per);
      ++ready;
      while (!go.load()) std::this_thread::yield();
      // Paced: this thread's i-th record goes at t0 + i / (rate / threads).
      const auto start = Clock::now();
      const double gap_s = g_rate > 0 ? threads / g_rate : 0;
      for (uint64_t i = 0; i < per; ++i) {
        if (gap_s > 0) {
          const auto due =
              start + std::chrono::duration_cast<Clock::duration>(
                          std::chrono::duration<double>(gap_s * static_cast<double>(i)));
          while (Clock::now() < due) {
          }
        }
        const uint64_t k = static_cast<uint64_t>(t) * per + i;
        engine::AuditRecord r = pool[k % pool.size()];
        r.time_ms += static_cast<int64_t>(k);
        const auto a = Clock::now();
        if (window > 0) {
          std::unique_lock lock(flight.mu);
          flight.cv.wait(lock, [&] { return flight.in_flight < window; });
          ++flight.in_flight;
          lock.unlock();
          (*sink)->SubmitThen(std::move(r), [&flight, &mine, a](Status s) {
            const float us = std::chrono::duration<float, std::micro>(Clock::now() - a).count();
            if (!s.ok()) std::fprintf(stderr, "submit: %s\n", s.ToString().c_str());
            std::lock_guard g(flight.mu);
            mine.push_back(us);
            --flight.in_flight;
            flight.cv.notify_one();
          });
          continue;
        }
        Status s = (*sink)->Submit(std::move(r));
        mine.push_back(std::chrono::duration<float, std::micro>(Clock::now() - a).count());
        if (!s.ok()) std::fprintf(stderr, "submit: %s\n", s.ToString().c_str());
      }
      std::unique_lock lock(flight.mu);
      flight.cv.wait(lock, [&] { return flight.in_flight == 0; });
      timespec cpu{};
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
      producers_cpu += static_cast<double>(cpu.tv_sec) + static_cast<double>(cpu.tv_nsec) / 1e9;
    });
  }
  while (ready.load() < threads) std::this_thread::yield();
  const uint64_t written0 = WrittenBytes();
  const double cpu0 = CpuSeconds();
  const auto t0 = Clock::now();
  go = true;
  for (auto& t : ts) t.join();
  Status f = (*sink)->Flush();
  const double s = Seconds(Clock::now() - t0);
  const uint64_t written = WrittenBytes() - written0;
  const double cpu = CpuSeconds() - cpu0;
  double writer_cpu = 0;
  for (size_t i = 0; i < sink_tasks.size(); ++i)
    writer_cpu = std::max(writer_cpu, TaskCpuSeconds(sink_tasks[i]) - sink_cpu0[i]);
  if (!f.ok()) std::fprintf(stderr, "flush: %s\n", f.ToString().c_str());
  SinkResult out;
  const auto st = (*sink)->stats();
  out.rejected = st.rejected_full;
  out.batches = st.batches;
  out.commits_per_s = static_cast<double>(st.batches) / s;
  out.writer_cpu_us_per_record =
      1e6 * writer_cpu / static_cast<double>(per * static_cast<uint64_t>(threads));
  out.records_per_s = static_cast<double>(per * static_cast<uint64_t>(threads)) / s;
  out.bytes_per_record =
      static_cast<double>(written) / static_cast<double>(per * static_cast<uint64_t>(threads));
  // Paced writers spin between records, so then only the CPU of the
  // sink's own threads (the writer, the checkpointer) is counted.
  const double counted = g_rate > 0 ? cpu - producers_cpu.load() : cpu;
  out.cpu_us_per_record =
      1e6 * counted / static_cast<double>(per * static_cast<uint64_t>(threads));
  std::vector<float> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  if (!all.empty()) {
    out.p50_us = all[all.size() / 2];
    out.p99_us = all[all.size() * 99 / 100];
  }
  (void)(*sink)->Close();
  sink->reset();
  RemoveDb(path);
  return out;
}

void PrintRow(const char* label, int writers, const SinkResult& r) {
  const double per_commit =
      r.batches ? r.records_per_s / std::max(r.commits_per_s, 1e-9) : 0;
  std::printf("%-44s %8d %14.0f %10.1f %10.1f %9llu %9.0f %9.1f %10.1f %9.0f %9.2f %10.0f%s\n",
              label, writers, r.records_per_s, r.p50_us, r.p99_us,
              static_cast<unsigned long long>(r.batches), r.bytes_per_record,
              r.cpu_us_per_record, per_commit, r.commits_per_s, r.writer_cpu_us_per_record,
              r.writer_cpu_us_per_record > 0 ? 1e6 / r.writer_cpu_us_per_record : 0,
              r.rejected ? "  (refusals!)" : "");
}

// Whether the comma-separated `list` holds `word`.
bool HasWord(const std::string& list, const std::string& word) {
  return ("," + list + ",").find("," + word + ",") != std::string::npos;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t records = 300000;
  std::string dir = "/tmp";
  std::vector<int> thread_counts = {1, 8, 64};
  bool skip_plain = false, what_if = false, what_if_sync = false, fsync_probe = false;
  std::string modes = "async,sync";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : "";
    if (a == "--records") {
      records = std::strtoull(v, nullptr, 10), ++i;
    } else if (a == "--window") {
      g_window = std::max(1, std::atoi(v)), ++i;
    } else if (a == "--max-batch") {
      g_max_batch = std::strtoull(v, nullptr, 10), ++i;
    } else if (a == "--fsync-probe") {
      fsync_probe = true;
    } else if (a == "--linger" && i + 1 < argc) {
      g_linger_us = std::stol(argv[++i]);
    } else if (a == "--rate" && i + 1 < argc) {
      g_rate = std::stod(argv[++i]);
    } else if (a == "--what-if") {
      what_if = true;
    } else if (a == "--what-if-sync") {  // only the variants of a sync-sized commit
      what_if = what_if_sync = true;
    } else if (a == "--skip-plain") {
      skip_plain = true;
    } else if (a == "--modes") {
      modes = v, ++i;
    } else if (a == "--dir") {
      dir = v, ++i;
    } else if (a == "--threads") {
      thread_counts.clear();
      for (const char* p = v; *p;) {
        thread_counts.push_back(std::atoi(p));
        p = std::strchr(p, ',');
        if (!p) break;
        ++p;
      }
      ++i;
    } else {
      std::fprintf(stderr,
                   "usage: audit_bench [--records N] [--dir DIR] [--threads 1,8,64] "
                   "[--modes async,sync] [--skip-plain] [--what-if] [--what-if-sync] "
                   "[--max-batch N] [--window N] [--fsync-probe] [--linger US] [--rate N]\n");
      return 2;
    }
  }
  const std::string path = dir + "/tosgate-audit-bench.db";
  storage::SqliteAuditOptions probe;
  const bool has_sync_mode = SetMode(&probe, true);
  std::printf("audit_bench: %llu records per run, file %s, %u hardware threads\n",
              static_cast<unsigned long long>(records), path.c_str(),
              std::thread::hardware_concurrency());
  if (fsync_probe) {
    FsyncProbe(dir, 4096);
    FsyncProbe(dir, 1 << 20);
  }
  const double plain = skip_plain ? 0 : PlainLoop(path, records, LoopConfig{});
  if (!skip_plain)
    std::printf("plain SQLite loop, batches of 100, synchronous=FULL: %10.0f records/s\n", plain);
  if (what_if) {
    // The single-writer loop the sink runs, one setting changed at a time.
    const std::pair<const char*, LoopConfig> variants[] = {
        {"batch 4096, NORMAL, defaults", {.batch = 4096, .full = false}},
        {"  + SHA-256 chain", {.batch = 4096, .full = false, .chain = true}},
        {"  + cache_size 64 MB", {.batch = 4096, .full = false, .cache_kb = 65536, .chain = true}},
        {"  + cache 64 MB, wal_autocheckpoint 16384",
         {.batch = 4096, .full = false, .cache_kb = 65536, .autocheckpoint = 16384, .chain = true}},
        {"  ... with the (org, time_ms) query index",
         {.batch = 4096,
          .full = false,
          .cache_kb = 65536,
          .autocheckpoint = 16384,
          .org_index = true,
          .chain = true}},
        {"  ... without the (account, time_ms) index",
         {.batch = 4096,
          .full = false,
          .cache_kb = 65536,
          .autocheckpoint = 16384,
          .drop_account_index = true,
          .chain = true}},
        {"batch 4096, FULL, cache 64 MB, autockpt 16384, chain",
         {.batch = 4096, .full = true, .cache_kb = 65536, .autocheckpoint = 16384, .chain = true}},
        // A sync commit's size under load: what the page size costs in bytes.
        {"batch 100, FULL, cache 64 MB, autockpt 16384, chain",
         {.batch = 100, .full = true, .cache_kb = 65536, .autocheckpoint = 16384, .chain = true}},
        {"  ... page_size 2048",
         {.batch = 100, .full = true, .cache_kb = 65536, .autocheckpoint = 16384, .chain = true,
          .page_size = 2048}},
        {"  ... page_size 1024",
         {.batch = 100, .full = true, .cache_kb = 65536, .autocheckpoint = 16384, .chain = true,
          .page_size = 1024}},
        {"  ... without the (account, time_ms) index",
         {.batch = 100, .full = true, .cache_kb = 65536, .autocheckpoint = 16384,
          .drop_account_index = true, .chain = true}},
    };
    for (const auto& [name, cfg] : variants) {
      if (what_if_sync && cfg.batch != 100) continue;
      const double rate = PlainLoop(path, records, cfg);
      std::printf("what-if, plain loop, %-52s %10.0f records/s %8.0f bytes written/record\n",
                  name, rate, g_loop_bytes_per_record);
    }
  }
  // rec/commit x commits/s is the rate; writer us is the writer thread's
  // CPU per record, and 1-core/s = 1e6 / it, the writer's ceiling.
  std::printf("%-44s %8s %14s %10s %10s %9s %9s %9s %10s %9s %9s %10s\n", "sink", "writers",
              "records/s", "p50 us", "p99 us", "commits", "B/record", "CPU us", "rec/commit",
              "commits/s", "writer us", "1-core/s");
  for (bool sync : {false, true}) {
    if (!HasWord(modes, sync ? "sync" : "async")) continue;
    const char* mode = sync ? (has_sync_mode ? "sync (Submit waits for commit)"
                                             : "async, synchronous=FULL (no sync mode yet)")
                            : "async (synchronous=NORMAL)";
    for (int t : thread_counts) {
      // In sync mode a commit holds at most one record per writer thread (each
      // waits for its own), so about 1,000 commits per run is plenty.
      const uint64_t n = sync && has_sync_mode
                             ? std::min<uint64_t>(records, 1000 * static_cast<uint64_t>(t))
                             : records;
      SinkResult r = RunSink(path, sync, t, n);
      PrintRow(mode, t, r);
      std::fflush(stdout);
    }
  }
  if (has_sync_mode && HasWord(modes, "sync")) {
    // What group commit can do when requests do not wait one by one.
    const std::string label =
        "sync, SubmitThen, " + std::to_string(g_window) + " in flight per writer";
    for (int t : thread_counts) {
      SinkResult r = RunSink(path, true, t, records, g_window);
      PrintRow(label.c_str(), t, r);
      std::fflush(stdout);
    }
  }
  return 0;
}
