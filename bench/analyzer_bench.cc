// What the out-of-path traffic analyzer costs per 1M requests, and what the
// in-path append to its feature log costs per request.
//
//   build/bench/analyzer_bench [--requests N]
//
// For each traffic shape (accounts active, requests between runs) it feeds
// N requests (default 1M) of synthetic feature vectors, 1% of the accounts
// harvest-shaped, through FeatureLog -> TrafficAnalyzer::Add -> Run ->
// Apply on a memory BehaviorStore, run after run, and prints CPU seconds (of the
// thread) per 1M requests, the share of a core at a given request rate, the
// runs' cost split (calibration is a fixed cost per run; account tests grow
// with the accounts active in a run) and what was flagged. Single thread;
// the request path pays only the append (printed in ns).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <random>
#include <vector>

#include "engine/distill/analyzer.h"
#include "engine/distill/behavior_store.h"
#include "engine/distill/feature_log.h"

namespace {

using namespace tosgate::engine;
// CPU time of this thread: the figure that matters on a shared machine,
// and the one a loaded benchmark host does not inflate.
struct Clock {
  using time_point = double;
  static double now() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
  }
};
double Secs(double a, double b) { return b - a; }

std::array<float, kAnalyzerFeatures> Features(std::mt19937_64& r, bool harvest, double style) {
  std::normal_distribution<double> noise(0, 0.08);
  auto c = [](double v) { return static_cast<float>(std::clamp(v, 0.0, 1.0)); };
  if (harvest)
    return {c(0.55 + noise(r)),
            c(noise(r) > 0 ? 1 : 0),
            0,
            c(0.85 + noise(r)),
            c(0.8 + noise(r)),
            0.5f,
            c(0.5 + noise(r)),
            1.0f};
  return {c(0.1 + noise(r)),
          c(noise(r) > 0.13 ? 1 : 0),
          0,
          c(0.35 + 0.2 * style + noise(r)),
          c(0.1 + 0.2 * style + noise(r)),
          0.125f,
          c(0.35 + noise(r)),
          c(style > 0.7 ? 0.5 : 0)};
}

void Shape(size_t requests, int accounts, size_t per_run) {
  std::mt19937_64 r(static_cast<uint64_t>(accounts) * 7919 + per_run);
  std::vector<double> style(static_cast<size_t>(accounts));
  for (double& s : style) s = std::uniform_real_distribution<double>(0, 1)(r);
  FeatureLog log(per_run + 1024, 1);
  TrafficAnalyzer analyzer;
  auto store = NewMemoryBehaviorStore();
  std::vector<AnalyzerSample> batch;
  int64_t wall = 1'800'000'000'000;
  double analyzer_secs = 0, append_secs = 0;
  size_t runs = 0, tested = 0, flagged = 0, flagged_harvest = 0;
  std::uniform_int_distribution<int> who(0, accounts - 1);
  for (size_t done = 0; done < requests;) {
    const size_t n = std::min(per_run, requests - done);
    // Generated first, so only the append is timed.
    batch.clear();
    for (size_t i = 0; i < n; ++i) {
      const int a = who(r);
      const bool harvest = a % 100 == 0;
      batch.push_back({static_cast<uint64_t>(a) + 1, wall += 10,
                       Features(r, harvest, style[static_cast<size_t>(a)])});
    }
    const auto t0 = Clock::now();
    for (const AnalyzerSample& s : batch) log.Append(s);
    const auto t1 = Clock::now();
    std::vector<AnalyzerSample> got;
    log.Collect(&got);
    analyzer.Add(got);
    AnalyzerRunStats st;
    const std::vector<AnalyzerVerdict> v = analyzer.Run(wall, &st);
    analyzer.Apply(v, *store, wall * 1'000'000, wall);
    const auto t2 = Clock::now();
    append_secs += Secs(t0, t1);
    analyzer_secs += Secs(t1, t2);
    ++runs;
    tested += st.tested;
    for (const AnalyzerVerdict& x : v)
      if (x.risk > 0) {
        ++flagged;
        flagged_harvest += (x.key - 1) % 100 == 0;
      }
    done += n;
  }
  // One run with the pool full and nothing new: calibration and bandwidth alone.
  const auto c0 = Clock::now();
  analyzer.Run(wall);
  const double fixed = Secs(c0, Clock::now());
  const double per_m = analyzer_secs * 1e6 / static_cast<double>(requests);
  std::printf(
      "%8d accounts %8zu req/run %5zu runs | %7.2f s per 1M req (%.1f%% of a core at 10k req/s) | "
      "fixed %.3f s/run, %.1f us/account test | %6zu tests %5zu flagged (%zu harvest-shaped) | "
      "append %.0f ns\n",
      accounts, per_run, runs, per_m, per_m * 1e-6 * 10'000 * 100, fixed,
      tested
          ? (analyzer_secs - fixed * static_cast<double>(runs)) * 1e6 / static_cast<double>(tested)
          : 0.0,
      tested, flagged, flagged_harvest, append_secs * 1e9 / static_cast<double>(requests));
}

}  // namespace

int main(int argc, char** argv) {
  size_t requests = 1'000'000;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--requests") == 0) requests = std::strtoull(argv[i + 1], nullptr, 10);
  std::printf(
      "analyzer cost over %zu requests (defaults: window 32, reference 256, pool 4096, "
      "2000 calibration draws per window size)\n",
      requests);
  Shape(requests, 1'000, 60'000);
  Shape(requests, 20'000, 60'000);
  Shape(requests, 20'000, 600'000);
  Shape(requests, 100'000, 600'000);  // past max_tests_per_run: the rest wait a run
  return 0;
}
