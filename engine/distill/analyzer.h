// TrafficAnalyzer: the out-of-path half of competitor-training detection.
//
// The in-path rule decides each request in microseconds from one account's
// running rates; it cannot ask "does this account's traffic, as a whole,
// look like everyone else's?". The analyzer can: a periodic job (a thread
// of `serve`, a step of `replay`) feeds it the feature vectors the rule
// logged (engine/distill/feature_log.h) and asks it to Run. Each run
//   - keeps the last `window_samples` vectors of each account (by
//     BehaviorStore key) and a pool of recent vectors of all accounts, at
//     most `pool_per_account` from one account a run, so no single account
//     defines the population;
//   - draws a reference sample of the pool, sets the RBF kernel's bandwidth
//     by the median heuristic, and calibrates, per window size, the
//     threshold on the unbiased MMD² that random windows of the population
//     itself exceed with probability `false_positive_rate`;
//   - tests every account with `retest_after` new samples and at least
//     `min_samples` held:
//     MMD² of its window against the reference; over the threshold and
//     shifted towards harvest (its mean feature above the population's),
//     it gets a risk in [0.5, 1), else 0.
// Apply writes the risks into the accounts' BehaviorStore records
// (AccountBehavior::analyzer_risk / analyzer_wall_ms), where the rule reads
// them. docs/distillation.md, "The out-of-path analyzer", has the formulas.
//
// Not thread-safe: one analyzer, one thread. No I/O, no clock: the caller
// passes the time. Memory is bounded by max_accounts * ~330 bytes plus the
// pool (~130 KB); each run's cost is bounded by the sizes below (bench/analyzer_bench).
#pragma once

#include <array>
#include <cstdint>
#include <random>
#include <unordered_map>
#include <vector>

#include "engine/distill/behavior_store.h"
#include "engine/distill/feature_log.h"

namespace tosgate::engine {

// The longest window an account keeps: 32 quantized vectors, 256 bytes.
inline constexpr int kMaxWindow = 32;

struct AnalyzerOptions {
  int window_samples = 32;             // an account's most recent vectors tested (<= kMaxWindow)
  int min_samples = 8;                 // fewer: not tested yet
  int retest_after = 8;                // new vectors before an account is tested again
  int64_t idle_ms = 6 * 3'600'000;     // an account silent this long is forgotten
  size_t max_accounts = 200'000;       // past it new accounts wait for idle ones to go
  int reference_samples = 256;         // population sample each window is compared with
  int pool_samples = 4096;             // recent population vectors kept
  int pool_per_account = 8;            // most vectors one account adds to the pool a run
  int calibration_draws = 2000;        // random population windows per window size
  double false_positive_rate = 0.003;  // of a population window, per test
  double min_mmd2 = 0.005;             // differences smaller than this are never risk
  size_t max_tests_per_run = 20'000;   // the rest keep their new samples for the next run
  // The accounts' own spread: a window must also exceed spread_factor times
  // the spread_quantile of recent accounts' MMD² at its size, once
  // min_accounts_for_spread were measured.
  double spread_quantile = 0.9;
  double spread_factor = 1.5;
  int min_accounts_for_spread = 30;
  uint64_t seed = 1;
};

// One account's verdict from one run.
struct AnalyzerVerdict {
  uint64_t key = 0;
  float risk = 0;       // 0: like the population
  float mmd2 = 0;       // unbiased MMD² of its window against the reference
  float threshold = 0;  // the calibrated threshold for its window size
  int samples = 0;      // window size tested
};

struct AnalyzerRunStats {
  size_t samples_in = 0;  // vectors fed since the last run
  size_t accounts = 0;    // accounts held
  size_t tested = 0;      // accounts tested this run
  size_t flagged = 0;     // with risk > 0
  size_t refused = 0;     // new accounts not held: max_accounts reached
  double bandwidth2 = 0;  // 2 sigma^2 of the kernel
};

// The unbiased estimate of MMD² between samples x (n >= 2) and y (m >= 2)
// under k(a, b) = exp(-|a - b|² / two_sigma2). For tests and the bench.
double Mmd2(const std::vector<std::array<float, kAnalyzerFeatures>>& x,
            const std::vector<std::array<float, kAnalyzerFeatures>>& y, double two_sigma2);

class TrafficAnalyzer {
 public:
  explicit TrafficAnalyzer(AnalyzerOptions opts = {});

  // Takes samples logged since the last call (any order).
  void Add(const std::vector<AnalyzerSample>& samples);

  // Tests the accounts with at least min_samples held and retest_after new
  // since their last test; returns one verdict each (risk 0 included, so a cleared account is
  // written back).
  std::vector<AnalyzerVerdict> Run(int64_t now_wall_ms, AnalyzerRunStats* stats = nullptr);

  // Writes each verdict's risk into its BehaviorStore record. Accounts
  // whose risk was 0 and stays 0 are not written (no needless store calls).
  void Apply(const std::vector<AnalyzerVerdict>& verdicts, BehaviorStore& store, int64_t now_ns,
             int64_t now_wall_ms);

  // The calibrated thresholds by window size: [n] for a window of n
  // samples, 0 where no size at or below n was calibrated.
  const std::vector<double>& thresholds() const { return thresholds_; }

 private:
  using Vec = std::array<float, kAnalyzerFeatures>;
  struct Window {
    std::array<std::array<uint8_t, kAnalyzerFeatures>, kMaxWindow> ring{};  // quantized to 1/255
    uint8_t next = 0, len = 0;
    uint8_t pooled = 0;     // vectors given to the pool this run
    uint16_t untested = 0;  // vectors added since its last test
    float last_risk = 0;
    int64_t last_ms = 0;
  };
  void Calibrate(const std::vector<Vec>& rest, const std::vector<double>& rest_row, double yy,
                 double two_sigma2);
  void Forget(int64_t now_wall_ms);
  void Spread(size_t level, const std::vector<float>& fresh);
  static constexpr size_t kSpreadValues = 4096;
  struct Ring {
    std::vector<float> values;  // recent accounts' MMD² at one window size
    size_t next = 0;
    double threshold = 0;
  };

  AnalyzerOptions opts_;
  std::mt19937_64 rng_;
  std::unordered_map<uint64_t, Window> windows_;
  std::vector<Vec> pool_;  // ring of recent population vectors
  size_t pool_next_ = 0;
  std::vector<int> levels_;  // the window sizes calibrated (and tested)
  std::vector<double> thresholds_;
  std::vector<Ring> spread_;  // by level
  size_t samples_in_ = 0, refused_ = 0;
};

}  // namespace tosgate::engine
