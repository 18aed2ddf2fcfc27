// AnalyzerJob: one pass from the feature log to the behaviour store, on the
// injected clock; the periodic thread stops at once when told.
#include "engine/distill/analyzer_job.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <random>

namespace tosgate::engine {
namespace {

TEST_CASE("one pass takes the logged samples and writes the analyzer's risk") {
  FakeClock clock(1'800'000'000'000);
  FeatureLog log(1 << 14, 2);
  auto store = NewMemoryBehaviorStore();
  AnalyzerJob job(&log, store.get(), &clock, AnalyzerOptions{});

  std::mt19937_64 r(3);
  std::normal_distribution<float> noise(0, 0.05f);
  for (int i = 0; i < 24; ++i)
    for (uint64_t a = 1; a <= 150; ++a) {
      AnalyzerSample s{a, clock.wall_ms(), {}};
      const float base = a == 150 ? 0.8f : 0.2f;  // account 150 is unlike the rest
      for (float& x : s.x) x = std::clamp(base + noise(r), 0.0f, 1.0f);
      log.Append(s);
    }
  clock.advance_ms(60'000);
  const AnalyzerRunStats st = job.RunOnce();
  CHECK(st.samples_in == 24 * 150);
  CHECK(st.tested == 150);
  CHECK(st.flagged >= 1);
  CHECK(st.flagged <= 2);  // an ordinary account may cross at 0.3% of 149
  AccountBehavior seen;
  store->Update(150, clock.monotonic_ns(), [&](AccountBehavior& b) { seen = b; });
  CHECK(seen.analyzer_risk >= 0.5f);
  CHECK(seen.analyzer_wall_ms == clock.wall_ms());
  CHECK(job.stats().runs == 1);
  CHECK(job.stats().flagged == st.flagged);

  // Nothing new logged: nothing tested.
  CHECK(job.RunOnce().tested == 0);
}

TEST_CASE("the job's thread waits for its interval and stops when told") {
  FakeClock clock;
  FeatureLog log(64, 1);
  auto store = NewMemoryBehaviorStore();
  AnalyzerJob job(&log, store.get(), &clock, AnalyzerOptions{});
  job.Start(std::chrono::hours(1));  // would not run for an hour
  job.Stop();                        // returns at once: the wait is woken
  CHECK(job.stats().runs == 0);
  job.Start(std::chrono::hours(1));  // and can start again; the destructor stops it
}

}  // namespace
}  // namespace tosgate::engine
