// The out-of-path traffic analyzer: the MMD estimate, the verdicts on a
// synthetic population with a few harvest-shaped accounts, writing them into
// the behaviour store, and the feature log the rule appends to.
#include "engine/distill/analyzer.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <set>
#include <thread>

#include "engine/distill/feature_log.h"

namespace tosgate::engine {
namespace {

using Vec = std::array<float, kAnalyzerFeatures>;

float Clamp01(double v) { return static_cast<float>(std::clamp(v, 0.0, 1.0)); }

// An ordinary request of an account whose habits are `style` (0..1): short
// answers, n = 1, moderate temperature, some of them with reasoning effort.
Vec Ordinary(std::mt19937_64& r, double style) {
  std::normal_distribution<double> noise(0, 0.08);
  std::bernoulli_distribution rare(0.05);
  return {Clamp01(0.1 + noise(r)),
          Clamp01(rare(r) ? 1 : 0),
          0,
          Clamp01(0.35 + 0.2 * style + noise(r)),
          Clamp01(0.1 + 0.2 * style + noise(r)),
          0.125f,
          Clamp01(0.35 + noise(r)),
          Clamp01(style > 0.7 ? 0.5 : 0)};
}

// A harvesting request: reasoning asked for, long outputs, several samples,
// high effort; the text model half convinced.
Vec Harvest(std::mt19937_64& r) {
  std::normal_distribution<double> noise(0, 0.08);
  std::bernoulli_distribution cot(0.6);
  return {Clamp01(0.55 + noise(r)),
          Clamp01(cot(r) ? 1 : 0),
          0,
          Clamp01(0.85 + noise(r)),
          Clamp01(0.8 + noise(r)),
          0.5f,
          Clamp01(0.5 + noise(r)),
          1.0f};
}

constexpr int64_t kStart = 1'800'000'000'000;

struct Population {
  std::vector<AnalyzerSample> samples;
  std::set<uint64_t> harvesters;
};

// `accounts` ordinary accounts, `harvesters` more, `per` requests each,
// interleaved in time one second apart.
Population Make(int accounts, int harvesters, int per, uint64_t seed) {
  std::mt19937_64 r(seed);
  std::uniform_real_distribution<double> style(0, 1);
  std::vector<double> styles;
  for (int a = 0; a < accounts; ++a) styles.push_back(style(r));
  Population p;
  int64_t t = kStart;
  for (int i = 0; i < per; ++i)
    for (int a = 0; a < accounts + harvesters; ++a) {
      AnalyzerSample s;
      s.key = 1000 + static_cast<uint64_t>(a);
      s.wall_ms = t += 1000;
      s.x = a < accounts ? Ordinary(r, styles[static_cast<size_t>(a)]) : Harvest(r);
      if (a >= accounts) p.harvesters.insert(s.key);
      p.samples.push_back(s);
    }
  return p;
}

std::vector<Vec> Draw(std::mt19937_64& r, int n, float shift) {
  std::vector<Vec> v;
  for (int i = 0; i < n; ++i) {
    Vec x = Ordinary(r, 0.5);
    for (float& f : x) f += shift;
    v.push_back(x);
  }
  return v;
}

TEST_CASE("MMD² of two samples of one distribution is near 0; of a shifted one, large") {
  std::mt19937_64 r(7);
  const std::vector<Vec> a = Draw(r, 200, 0), b = Draw(r, 200, 0), c = Draw(r, 200, 0.3f);
  CHECK(std::abs(Mmd2(a, b, 0.2)) < 0.01);
  CHECK(Mmd2(a, c, 0.2) > 0.3);
  CHECK(std::abs(Mmd2(a, a, 0.2)) < 0.01);
}

TEST_CASE("harvest-shaped accounts get risk; the population's own accounts do not") {
  const Population p = Make(300, 4, 20, 11);
  TrafficAnalyzer analyzer;
  analyzer.Add(p.samples);
  AnalyzerRunStats st;
  const std::vector<AnalyzerVerdict> verdicts = analyzer.Run(p.samples.back().wall_ms, &st);
  CHECK(st.tested == 304);
  CHECK(st.bandwidth2 > 0);
  int caught = 0, flagged_benign = 0;
  for (const AnalyzerVerdict& v : verdicts) {
    CHECK(v.samples == 16);  // 20 held: tested at the largest calibrated size reached
    if (p.harvesters.count(v.key)) {
      caught += v.risk >= 0.5f;
    } else {
      flagged_benign += v.risk > 0;
    }
  }
  CHECK(caught == 4);
  CHECK(flagged_benign <= 1);  // 0.3% of 300 is about 1
}

TEST_CASE("an account that differs by asking for less than the population is not risk") {
  Population p = Make(200, 0, 16, 3);
  for (int i = 0; i < 16; ++i)
    p.samples.push_back({42, kStart + i, Vec{0, 0, 0, 0.05f, 0.01f, 0.125f, 0.1f, 0}});
  TrafficAnalyzer analyzer;
  analyzer.Add(p.samples);
  for (const AnalyzerVerdict& v : analyzer.Run(kStart + 1'000'000))
    if (v.key == 42) {
      CHECK(v.mmd2 > v.threshold);  // different, yes
      CHECK(v.risk == 0);           // but not towards harvest
    }
}

TEST_CASE("too few samples are not tested; idle accounts are forgotten") {
  Population p = Make(200, 0, 10, 4);
  std::mt19937_64 r(1);
  p.samples.push_back({77, kStart, Harvest(r)});
  AnalyzerOptions o;
  o.idle_ms = 3'600'000;
  TrafficAnalyzer analyzer(o);
  analyzer.Add(p.samples);
  AnalyzerRunStats st;
  for (const AnalyzerVerdict& v : analyzer.Run(p.samples[p.samples.size() - 2].wall_ms, &st))
    CHECK(v.key != 77);  // one sample: below min_samples
  CHECK(st.accounts == 201);
  // Tested accounts wait for retest_after (8) new requests before the next test.
  const int64_t later = p.samples[p.samples.size() - 2].wall_ms;
  analyzer.Add({{1000, later, Ordinary(r, 0.5)}, {1001, later, Ordinary(r, 0.5)}});
  analyzer.Run(later, &st);
  CHECK(st.tested == 0);
  analyzer.Run(later + 3'600'001, &st);
  CHECK(st.accounts == 0);
}

TEST_CASE("verdicts are written into the behaviour store, and cleared when they pass") {
  const Population p = Make(200, 2, 16, 9);
  TrafficAnalyzer analyzer;
  analyzer.Add(p.samples);
  const std::vector<AnalyzerVerdict> verdicts = analyzer.Run(p.samples.back().wall_ms);
  auto store = NewMemoryBehaviorStore();
  analyzer.Apply(verdicts, *store, 5, p.samples.back().wall_ms);
  const uint64_t harvester = *p.harvesters.begin();
  auto read = [&](uint64_t key) {
    AccountBehavior copy;
    store->Update(key, 6, [&](AccountBehavior& st) { copy = st; });
    return copy;
  };
  CHECK(read(harvester).analyzer_risk >= 0.5f);
  CHECK(read(harvester).analyzer_wall_ms == p.samples.back().wall_ms);
  CHECK(store->stats().accounts <= 2 + 1);  // ordinary accounts at 0 are not written

  // The harvester turns ordinary: the next run clears its risk.
  std::mt19937_64 r(2);
  std::vector<AnalyzerSample> next;
  for (int i = 0; i < 40; ++i)
    next.push_back({harvester, p.samples.back().wall_ms + i, Ordinary(r, 0.5)});
  analyzer.Add(next);
  analyzer.Apply(analyzer.Run(p.samples.back().wall_ms + 100), *store, 7,
                 p.samples.back().wall_ms + 100);
  CHECK(read(harvester).analyzer_risk == 0);
}

TEST_CASE("the feature log is bounded and counts what it overwrote unread") {
  FeatureLog log(8, 1);
  for (uint64_t i = 0; i < 20; ++i) log.Append({i, 0, {}});
  CHECK(log.stats().appended == 20);
  CHECK(log.stats().held == 8);
  CHECK(log.stats().dropped == 12);
  std::vector<AnalyzerSample> got;
  log.Collect(&got);
  REQUIRE(got.size() == 8);
  CHECK(got.front().key == 12);  // the newest eight, oldest first
  CHECK(got.back().key == 19);
  // Overwriting what was collected is no drop; collecting again gives only the new.
  for (uint64_t i = 20; i < 23; ++i) log.Append({i, 0, {}});
  CHECK(log.stats().dropped == 12);
  got.clear();
  log.Collect(&got);
  REQUIRE(got.size() == 3);
  CHECK(got.front().key == 20);
}

TEST_CASE("the feature log takes appends from many threads while it is collected") {
  FeatureLog log(1 << 16, 4);
  constexpr int kThreads = 4, kEach = 5000;
  std::vector<AnalyzerSample> got;
  std::atomic<bool> done{false};
  std::thread collector([&] {
    while (!done.load()) log.Collect(&got);
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t)
    writers.emplace_back([&log, t] {
      for (int i = 0; i < kEach; ++i)
        log.Append({static_cast<uint64_t>(t) << 32 | static_cast<uint64_t>(i), i, {}});
    });
  for (std::thread& w : writers) w.join();
  done = true;
  collector.join();
  log.Collect(&got);
  CHECK(log.stats().appended == kThreads * kEach);
  CHECK(log.stats().dropped == 0);
  REQUIRE(got.size() == static_cast<size_t>(kThreads * kEach));
  std::set<uint64_t> keys;
  for (const AnalyzerSample& s : got) keys.insert(s.key);
  CHECK(keys.size() == got.size());  // each once
}

}  // namespace
}  // namespace tosgate::engine
