// Shared limits: Engine::Check with one per-account rate_limit on the memory
// store and on the Redis store, in the same run, against the same accounts.
// Prints checks per second (median of --runs) at 1 and --threads threads,
// and the latency of single checks (p50, p99) on one thread.
//
//   redis-server --port 6399 --save '' --appendonly no &
//   build/bench/fleet_bench --redis redis://127.0.0.1:6399 [--ops N] [--runs N] [--threads N]
//                           [--connections N]
//
// bench/fleet_bench.sh starts the Redis server itself.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench/rate_limit_snapshot.h"
#include "engine/engine.h"
#include "storage/redis/behavior_store.h"
#include "storage/redis/state_store.h"
#include "tosgate/clock.h"

namespace {

using namespace tosgate;
using Steady = std::chrono::steady_clock;

struct Options {
  std::string redis;
  int accounts = 10'000;
  int ops = 20'000;  // per thread per run
  int runs = 5;
  int threads = 8;
  int connections = 2;
};

Request ChatFor(const std::string& account) {
  Request r;
  r.method = "POST";
  r.path = "/v1/chat/completions";
  r.account.emplace();
  r.account->id = account;
  r.account->tier = "pro";
  return r;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Checks per second with `threads` threads, each doing `ops` checks.
double Throughput(engine::Engine& eng, const std::vector<std::string>& accounts, int threads,
                  int ops, uint64_t seed) {
  std::vector<std::thread> ts;
  const auto start = Steady::now();
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      std::mt19937_64 rng(seed + t);
      Request r = ChatFor("");
      for (int i = 0; i < ops; ++i) {
        r.account->id = accounts[rng() % accounts.size()];
        (void)eng.Check(r);
      }
    });
  for (auto& th : ts) th.join();
  return threads * ops / std::chrono::duration<double>(Steady::now() - start).count();
}

// p50 and p99 of single checks on one thread, in microseconds.
std::pair<double, double> Latency(engine::Engine& eng, const std::vector<std::string>& accounts,
                                  int ops) {
  std::vector<double> us;
  us.reserve(ops);
  std::mt19937_64 rng(99);
  Request r = ChatFor("");
  for (int i = 0; i < ops; ++i) {
    r.account->id = accounts[rng() % accounts.size()];
    const auto t0 = Steady::now();
    (void)eng.Check(r);
    us.push_back(std::chrono::duration<double, std::micro>(Steady::now() - t0).count());
  }
  std::sort(us.begin(), us.end());
  return {us[us.size() / 2], us[us.size() * 99 / 100]};
}

// Nanoseconds per BehaviorStore::Link with `threads` threads, each linking
// `ops` (bucket, account) pairs drawn from 50,000 buckets and `accounts`.
double LinkNs(engine::BehaviorStore& store, int accounts, int threads, int ops, uint64_t seed) {
  std::vector<std::thread> ts;
  const auto start = Steady::now();
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      std::mt19937_64 rng(seed + t);
      for (int i = 0; i < ops; ++i)
        (void)store.Link(rng() % 50'000, rng() % accounts, 0.5f, i);
    });
  for (auto& th : ts) th.join();
  return std::chrono::duration<double, std::nano>(Steady::now() - start).count() / ops;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--redis")) o.redis = argv[i + 1];
    else if (!std::strcmp(argv[i], "--ops")) o.ops = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--runs")) o.runs = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--threads")) o.threads = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--accounts")) o.accounts = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--connections")) o.connections = std::atoi(argv[i + 1]);
  }
  if (o.redis.empty()) {
    std::fprintf(stderr, "usage: fleet_bench --redis redis://HOST:PORT [--ops N] [--runs N] [--threads N]\n");
    return 2;
  }
  std::vector<std::string> accounts;
  for (int i = 0; i < o.accounts; ++i) accounts.push_back("acct_" + std::to_string(i));

  SystemClock clock;
  auto memory = engine::NewMemoryStateStore();
  storage::RedisStateOptions ro;
  ro.url = o.redis;
  ro.connections = o.connections;
  ro.prefix = "bench:" + std::to_string(Steady::now().time_since_epoch().count()) + ":";
  auto redis = storage::RedisStateStore::Open(ro);
  if (!redis.ok()) {
    std::fprintf(stderr, "fleet_bench: %s\n", redis.status().message().c_str());
    return 1;
  }
  engine::Engine on_memory({&clock, memory.get(), nullptr, nullptr});
  engine::Engine on_redis({&clock, redis->get(), nullptr, nullptr});
  on_memory.Publish(bench::PerAccountRateLimit());
  on_redis.Publish(bench::PerAccountRateLimit());

  std::printf("fleet_bench: Engine::Check, one per-account rate_limit, %d accounts, "
              "%d checks per thread per run, median of %d runs (runs alternate memory, redis)\n",
              o.accounts, o.ops, o.runs);
  for (int threads : {1, o.threads}) {
    std::vector<double> mem, red;
    for (int run = 0; run < o.runs; ++run) {
      mem.push_back(Throughput(on_memory, accounts, threads, o.ops, run * 100));
      red.push_back(Throughput(on_redis, accounts, threads, o.ops, run * 100));
    }
    std::printf("%d thread%s memory %10.0f checks/s   redis %9.0f checks/s   (redis/memory %.3f)\n",
                threads, threads == 1 ? ": " : "s:", Median(mem), Median(red),
                Median(red) / Median(mem));
  }
  auto [mp50, mp99] = Latency(on_memory, accounts, o.ops);
  auto [rp50, rp99] = Latency(on_redis, accounts, o.ops);
  std::printf("latency, 1 thread: memory p50 %.1f us p99 %.1f us; redis p50 %.1f us p99 %.1f us "
              "(added: p50 %.1f us, p99 %.1f us)\n",
              mp50, mp99, rp50, rp99, rp50 - mp50, rp99 - mp99);
  auto c = (*redis)->counters();
  std::printf("redis: %d connections, %llu calls in %llu round trips (%.2f per trip), %llu errors "
              "(calls over the %lld ms timeout count as errors)\n",
              o.connections, static_cast<unsigned long long>(c.calls),
              static_cast<unsigned long long>(c.batches), double(c.calls) / double(c.batches),
              static_cast<unsigned long long>(c.errors), static_cast<long long>(ro.command_timeout.count()));

  // Competitor-training cluster links: the memory store against the Redis
  // one, whose request path is a local link plus a queue push; a background
  // thread syncs the queue every 200 ms (as `serve` does by default).
  auto local_links = engine::NewMemoryBehaviorStore();
  storage::RedisBehaviorOptions bo;
  bo.url = o.redis;
  bo.prefix = ro.prefix;
  auto shared_links = storage::RedisBehaviorStore::Open(bo);
  if (!shared_links.ok()) {
    std::fprintf(stderr, "fleet_bench: %s\n", shared_links.status().message().c_str());
    return 1;
  }
  for (int threads : {1, o.threads}) {
    std::vector<double> mem, red;
    for (int run = 0; run < o.runs; ++run) {
      mem.push_back(LinkNs(*local_links, o.accounts, threads, o.ops * 10, run));
      red.push_back(LinkNs(**shared_links, o.accounts, threads, o.ops * 10, run));
    }
    std::printf("cluster link, %d thread%s memory %.0f ns   redis %.0f ns   (added %.0f ns per link; "
                "wall time per link per thread)\n",
                threads, threads == 1 ? ": " : "s:", Median(mem), Median(red), Median(red) - Median(mem));
  }
  if (Status st = (*shared_links)->SyncNow(); !st.ok())
    std::printf("cluster sync: last round: %s\n", st.message().c_str());
  const auto bc = (*shared_links)->counters();
  std::printf("cluster sync: %llu rounds, %llu links sent, %llu dropped (queue full between rounds), "
              "%llu errors\n",
              static_cast<unsigned long long>(bc.rounds), static_cast<unsigned long long>(bc.links_sent),
              static_cast<unsigned long long>(bc.links_dropped), static_cast<unsigned long long>(bc.errors));
  return 0;
}
