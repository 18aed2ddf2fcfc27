// The rate limiter under a realistic key distribution: 1M tracked keys drawn
// from a Zipf distribution (s = 1), on 1 and 2 threads, through the state
// store alone and through Engine::Check with one rate_limit rule; and the
// memory each tracked key costs.
//
//   build/bench/limiter_bench [--keys N] [--ops N] [--runs N]
//
// Prints checks per second as the median of --runs runs, and bytes per key
// measured with mallinfo2() around inserting every key once.
#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench/rate_limit_snapshot.h"
#include "engine/engine.h"
#include "engine/state_store.h"
#include "tosgate/clock.h"

namespace {

using namespace tosgate;
using Clock = std::chrono::steady_clock;

struct Options {
  int keys = 1'000'000;
  int ops = 2'000'000;  // per thread per run
  int runs = 5;
};

// Indices 0..n-1 with P(i) proportional to 1/(i+1).
std::vector<uint32_t> ZipfSample(int n, int count, uint64_t seed) {
  std::vector<double> cdf(n);
  double sum = 0;
  for (int i = 0; i < n; ++i) cdf[i] = (sum += 1.0 / (i + 1));
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, sum);
  std::vector<uint32_t> out(count);
  for (uint32_t& x : out)
    x = static_cast<uint32_t>(std::lower_bound(cdf.begin(), cdf.end(), u(rng)) - cdf.begin());
  return out;
}

template <typename Fn>
double Median(int runs, Fn&& run) {
  std::vector<double> v;
  for (int i = 0; i < runs; ++i) v.push_back(run());
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Runs fn(thread, sample) on `threads` threads at once; returns ops/s.
template <typename Fn>
double Parallel(int threads, const std::vector<std::vector<uint32_t>>& samples, Fn&& fn) {
  std::atomic<int> ready{0};
  std::vector<std::thread> ts;
  const auto start = Clock::now();
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      ready.fetch_add(1);
      while (ready.load() < threads) {
      }
      fn(t, samples[t]);
    });
  for (auto& th : ts) th.join();
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  size_t ops = 0;
  for (int t = 0; t < threads; ++t) ops += samples[t].size();
  return ops / secs;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--keys")) o.keys = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--ops")) o.ops = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--runs")) o.runs = std::atoi(argv[i + 1]);
  }
  std::printf("limiter_bench: %d keys (Zipf s=1), %d checks per thread per run, median of %d runs\n",
              o.keys, o.ops, o.runs);

  std::vector<std::string> keys(o.keys), accounts(o.keys);
  for (int i = 0; i < o.keys; ++i) {
    accounts[i] = "acct_" + std::to_string(i);
    keys[i] = "rate.rpm|w600/60000000000+60\x1f" + accounts[i];
  }
  std::vector<std::vector<uint32_t>> samples = {ZipfSample(o.keys, o.ops, 1), ZipfSample(o.keys, o.ops, 2)};

  // Bytes per tracked key: every key once, into a store sized for them.
  engine::MemoryStateOptions so;
  so.max_entries = static_cast<size_t>(o.keys) * 2;
  const engine::MeterSpec window{engine::Meter::kWindow, 660, 60'000'000'000};
  const engine::MeterSpec gcra{engine::Meter::kGcra, 600, 60'000'000'000, 60};
  {
    malloc_trim(0);
    const size_t before = mallinfo2().uordblks;
    auto store = engine::NewMemoryStateStore(so);
    for (int i = 0; i < o.keys; ++i) (void)store->Take(keys[i], window, 1, 0);
    const size_t after = mallinfo2().uordblks;
    std::printf("memory: %zu entries, %.1f bytes per tracked key (heap in use, map and buckets included)\n",
                store->entries(), double(after - before) / o.keys);
  }

  for (const auto& [name, spec] : {std::pair{"sliding window", window}, std::pair{"gcra", gcra}}) {
    for (int threads : {1, 2}) {
      auto store = engine::NewMemoryStateStore(so);
      const double rate = Median(o.runs, [&] {
        return Parallel(threads, samples, [&](int, const std::vector<uint32_t>& s) {
          int64_t now = 0;  // per thread: a shared clock would be a contended line of its own
          for (uint32_t k : s) (void)store->Take(keys[k], spec, 1, now += 1000);
        });
      });
      std::printf("state store, %-14s %d thread%s %10.0f checks/s\n", name, threads,
                  threads == 1 ? ": " : "s:", rate);
    }
  }

  // The whole engine: one rate_limit rule per account, no audit sink, real time.
  for (int threads : {1, 2}) {
    SystemClock clock;
    auto store = engine::NewMemoryStateStore(so);
    engine::Engine eng({&clock, store.get(), nullptr, nullptr});
    eng.Publish(bench::PerAccountRateLimit());
    std::atomic<uint64_t> allowed{0};
    const double rate = Median(o.runs, [&] {
      return Parallel(threads, samples, [&](int, const std::vector<uint32_t>& s) {
        Request r;
        r.method = "POST";
        r.path = "/v1/chat/completions";
        r.account.emplace();
        r.account->tier = "pro";
        uint64_t ok = 0;
        for (uint32_t k : s) {
          r.account->id = accounts[k];
          ok += eng.Check(r).effect == Effect::kAllow;
        }
        allowed += ok;
      });
    });
    std::printf("Engine::Check, one rate_limit, %d thread%s %10.0f checks/s (%.1f%% allowed)\n", threads,
                threads == 1 ? ": " : "s:", rate,
                100.0 * allowed.load() / (double(o.runs) * o.ops * threads));
  }
  return 0;
}
