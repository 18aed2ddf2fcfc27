#include "engine/distill/analyzer.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace tosgate::engine {
namespace {

using Vec = std::array<float, kAnalyzerFeatures>;

// The mean of three RBF kernels, at the median heuristic's bandwidth and at
// 4 and 16 times it. A population is a mixture of kinds of users, so the
// median distance is short, and with that one bandwidth alone every window
// unlike the population's nearest mode scores about the same (the kernel
// saturates): the wider ones keep "how far" in the statistic. The wider
// kernels are roots of the first: one exp a pair.
inline double Kernel(const Vec& a, const Vec& b, double two_sigma2) {
  float d2 = 0;
  for (size_t i = 0; i < kAnalyzerFeatures; ++i) {
    const float d = a[i] - b[i];
    d2 += d * d;
  }
  const double k1 = std::exp(-static_cast<double>(d2) / two_sigma2);
  const double k4 = std::sqrt(std::sqrt(k1));
  return (k1 + k4 + std::sqrt(std::sqrt(k4))) / 3;
}

// Mean of k(x_i, x_j) over i != j.
double WithinMean(const Vec* const* x, size_t n, double two_sigma2) {
  double sum = 0;
  for (size_t i = 0; i < n; ++i)
    for (size_t j = i + 1; j < n; ++j) sum += Kernel(*x[i], *x[j], two_sigma2);
  return 2 * sum / static_cast<double>(n * (n - 1));
}

double CrossMean(const Vec* const* x, size_t n, const std::vector<Vec>& y, double two_sigma2) {
  double sum = 0;
  for (size_t i = 0; i < n; ++i)
    for (const Vec& v : y) sum += Kernel(*x[i], v, two_sigma2);
  return sum / static_cast<double>(n * y.size());
}

std::vector<const Vec*> Pointers(const std::vector<Vec>& v) {
  std::vector<const Vec*> p;
  p.reserve(v.size());
  for (const Vec& x : v) p.push_back(&x);
  return p;
}

uint8_t Quantize(float v) {
  if (!(v > 0)) return 0;  // NaN too
  if (v >= 1) return 255;
  return static_cast<uint8_t>(std::lround(v * 255.0f));
}

float QuantizedValue(float v) { return Quantize(v) / 255.0f; }

}  // namespace

double Mmd2(const std::vector<Vec>& x, const std::vector<Vec>& y, double two_sigma2) {
  const std::vector<const Vec*> px = Pointers(x), py = Pointers(y);
  return WithinMean(px.data(), px.size(), two_sigma2) +
         WithinMean(py.data(), py.size(), two_sigma2) -
         2 * CrossMean(px.data(), px.size(), y, two_sigma2);
}

TrafficAnalyzer::TrafficAnalyzer(AnalyzerOptions opts) : opts_(opts), rng_(opts.seed) {
  opts_.window_samples = std::clamp(opts_.window_samples, 2, kMaxWindow);
  opts_.min_samples = std::clamp(opts_.min_samples, 2, opts_.window_samples);
  opts_.retest_after = std::max(opts_.retest_after, 1);
  opts_.reference_samples = std::max(opts_.reference_samples, 8);
  opts_.pool_samples =
      std::max(opts_.pool_samples, opts_.reference_samples + 4 * opts_.window_samples);
  opts_.pool_per_account = std::max(opts_.pool_per_account, 1);
  opts_.calibration_draws = std::max(opts_.calibration_draws, 10);
  // Window sizes calibrated: min_samples, doubling, and window_samples. A
  // window is tested at the largest of them it reaches (its newest vectors).
  for (int n = opts_.min_samples; n < opts_.window_samples; n *= 2) levels_.push_back(n);
  levels_.push_back(opts_.window_samples);
  spread_.resize(levels_.size());
  pool_.reserve(static_cast<size_t>(opts_.pool_samples));
}

void TrafficAnalyzer::Add(const std::vector<AnalyzerSample>& samples) {
  samples_in_ += samples.size();
  for (const AnalyzerSample& s : samples) {
    auto it = windows_.find(s.key);
    if (it == windows_.end()) {
      if (windows_.size() >= opts_.max_accounts) {
        ++refused_;
        continue;
      }
      it = windows_.emplace(s.key, Window{}).first;
    }
    Window& w = it->second;
    for (size_t i = 0; i < kAnalyzerFeatures; ++i) w.ring[w.next][i] = Quantize(s.x[i]);
    w.next = static_cast<uint8_t>((w.next + 1) % opts_.window_samples);
    if (w.len < opts_.window_samples) ++w.len;
    if (w.untested < UINT16_MAX) ++w.untested;
    w.last_ms = std::max(w.last_ms, s.wall_ms);
    if (w.pooled >= opts_.pool_per_account) continue;
    ++w.pooled;
    Vec v;
    for (size_t i = 0; i < kAnalyzerFeatures; ++i) v[i] = QuantizedValue(s.x[i]);
    if (pool_.size() < static_cast<size_t>(opts_.pool_samples)) {
      pool_.push_back(v);
    } else {
      pool_[pool_next_] = v;
      pool_next_ = (pool_next_ + 1) % pool_.size();
    }
  }
}

void TrafficAnalyzer::Forget(int64_t now_wall_ms) {
  for (auto it = windows_.begin(); it != windows_.end();)
    it = now_wall_ms - it->second.last_ms > opts_.idle_ms ? windows_.erase(it) : std::next(it);
}

void TrafficAnalyzer::Calibrate(const std::vector<Vec>& rest, const std::vector<double>& rest_row,
                                double yy, double two_sigma2) {
  thresholds_.assign(static_cast<size_t>(opts_.window_samples) + 1, 0);
  std::vector<size_t> idx(rest.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::vector<double> null(static_cast<size_t>(opts_.calibration_draws));
  std::vector<const Vec*> x;
  for (int n : levels_) {
    for (double& out : null) {
      // n distinct population vectors: a partial Fisher-Yates shuffle.
      x.clear();
      double cross = 0;
      for (int i = 0; i < n; ++i) {
        std::uniform_int_distribution<size_t> pick(static_cast<size_t>(i), idx.size() - 1);
        std::swap(idx[static_cast<size_t>(i)], idx[pick(rng_)]);
        x.push_back(&rest[idx[static_cast<size_t>(i)]]);
        cross += rest_row[idx[static_cast<size_t>(i)]];
      }
      out = WithinMean(x.data(), x.size(), two_sigma2) + yy - 2 * cross / n;
    }
    const size_t q =
        std::min(null.size() - 1,
                 static_cast<size_t>(std::ceil((1 - opts_.false_positive_rate) * null.size())));
    std::nth_element(null.begin(), null.begin() + static_cast<ptrdiff_t>(q), null.end());
    const double threshold = std::max(null[q], opts_.min_mmd2);
    for (size_t s = static_cast<size_t>(n); s < thresholds_.size(); ++s) thresholds_[s] = threshold;
  }
}

// Random windows of the pool know the sampling noise, not that every real
// user has habits of their own, nor that a population is a mixture of
// kinds of users: the accounts' own MMD² values say how far ordinary
// accounts stand from the whole. The bar is a multiple of a high quantile
// of them rather than their extreme tail, so that a harvesting minority (up
// to 1 - spread_quantile of the accounts) does not set its own bar.
void TrafficAnalyzer::Spread(size_t level, const std::vector<float>& fresh) {
  Ring& ring = spread_[level];
  for (float v : fresh) {
    if (ring.values.size() < kSpreadValues) {
      ring.values.push_back(v);
    } else {
      ring.values[ring.next] = v;
      ring.next = (ring.next + 1) % kSpreadValues;
    }
  }
  if (ring.values.size() < static_cast<size_t>(opts_.min_accounts_for_spread)) {
    ring.threshold = 0;
    return;
  }
  std::vector<float> sorted = ring.values;
  const size_t q =
      std::min(sorted.size() - 1,
               static_cast<size_t>(opts_.spread_quantile * static_cast<double>(sorted.size())));
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<ptrdiff_t>(q), sorted.end());
  ring.threshold = opts_.spread_factor * std::max(0.0f, sorted[q]);
}

std::vector<AnalyzerVerdict> TrafficAnalyzer::Run(int64_t now_wall_ms, AnalyzerRunStats* stats) {
  Forget(now_wall_ms);
  AnalyzerRunStats st;
  st.samples_in = samples_in_;
  st.refused = refused_;
  samples_in_ = refused_ = 0;
  std::vector<AnalyzerVerdict> verdicts;
  const size_t m = static_cast<size_t>(opts_.reference_samples);
  const bool enough = pool_.size() >= m + 4 * static_cast<size_t>(opts_.window_samples);
  if (enough) {
    // The reference and the calibration set: a random split of the pool.
    std::vector<Vec> shuffled = pool_;
    std::shuffle(shuffled.begin(), shuffled.end(), rng_);
    const std::vector<Vec> y(shuffled.begin(), shuffled.begin() + static_cast<ptrdiff_t>(m));
    const std::vector<Vec> rest(shuffled.begin() + static_cast<ptrdiff_t>(m), shuffled.end());

    // Median heuristic: sigma is the median distance between reference vectors.
    std::vector<float> d2;
    d2.reserve(m * (m - 1) / 2);
    double d2_sum = 0;
    for (size_t i = 0; i < m; ++i)
      for (size_t j = i + 1; j < m; ++j) {
        float d = 0;
        for (size_t k = 0; k < kAnalyzerFeatures; ++k)
          d += (y[i][k] - y[j][k]) * (y[i][k] - y[j][k]);
        d2.push_back(d);
        d2_sum += d;
      }
    std::nth_element(d2.begin(), d2.begin() + static_cast<ptrdiff_t>(d2.size() / 2), d2.end());
    double median = d2[d2.size() / 2];
    // Mostly identical vectors: the mean still says how far apart the rest are.
    if (!(median > 0)) median = d2_sum / static_cast<double>(d2.size());
    const double two_sigma2 = median > 0 ? 2 * median : 1.0;
    st.bandwidth2 = two_sigma2;

    const std::vector<const Vec*> py = Pointers(y);
    const double yy = WithinMean(py.data(), m, two_sigma2);
    std::vector<double> rest_row(rest.size());
    for (size_t i = 0; i < rest.size(); ++i) {
      const Vec* p = &rest[i];
      rest_row[i] = CrossMean(&p, 1, y, two_sigma2);
    }
    Calibrate(rest, rest_row, yy, two_sigma2);

    Vec y_mean{};
    for (const Vec& v : y)
      for (size_t k = 0; k < kAnalyzerFeatures; ++k) y_mean[k] += v[k] / static_cast<float>(m);

    std::vector<Vec> xs(static_cast<size_t>(opts_.window_samples));
    std::vector<const Vec*> px;
    std::vector<std::pair<size_t, float>> pending;  // level and lean of each verdict
    std::vector<std::vector<float>> by_level(levels_.size());
    for (auto& [key, w] : windows_) {
      if (w.untested < opts_.retest_after || w.len < opts_.min_samples) continue;
      if (verdicts.size() >= opts_.max_tests_per_run) break;
      w.untested = 0;
      size_t level = 0;
      while (level + 1 < levels_.size() && levels_[level + 1] <= w.len) ++level;
      const int n = levels_[level];
      // Its newest n vectors, and which side of the population they lean to.
      px.clear();
      float lean = 0;
      for (int i = 0; i < n; ++i) {
        const size_t at =
            (w.next + 2 * static_cast<size_t>(opts_.window_samples) - 1 - static_cast<size_t>(i)) %
            static_cast<size_t>(opts_.window_samples);
        Vec& v = xs[static_cast<size_t>(i)];
        for (size_t k = 0; k < kAnalyzerFeatures; ++k) {
          v[k] = w.ring[at][k] / 255.0f;
          lean += (v[k] - y_mean[k]) / static_cast<float>(n);
        }
        px.push_back(&v);
      }
      const double mmd2 = WithinMean(px.data(), px.size(), two_sigma2) + yy -
                          2 * CrossMean(px.data(), px.size(), y, two_sigma2);
      AnalyzerVerdict v;
      v.key = key;
      v.mmd2 = static_cast<float>(mmd2);
      v.samples = n;
      verdicts.push_back(v);
      pending.emplace_back(level, lean);
      by_level[level].push_back(v.mmd2);
    }
    for (size_t level = 0; level < levels_.size(); ++level) {
      Spread(level, by_level[level]);
      for (size_t s = static_cast<size_t>(levels_[level]); s < thresholds_.size(); ++s)
        thresholds_[s] = std::max(thresholds_[s], spread_[level].threshold);
    }
    for (size_t i = 0; i < verdicts.size(); ++i) {
      AnalyzerVerdict& v = verdicts[i];
      const double threshold = thresholds_[static_cast<size_t>(v.samples)];
      v.threshold = static_cast<float>(threshold);
      // At the threshold 0.5, towards 1 as the distance grows past it.
      if (v.mmd2 > threshold && pending[i].second > 0)
        v.risk = static_cast<float>(1 - 0.5 * threshold / v.mmd2);
    }
  }
  for (auto& [key, w] : windows_) w.pooled = 0;
  st.accounts = windows_.size();
  st.tested = verdicts.size();
  for (const AnalyzerVerdict& v : verdicts) st.flagged += v.risk > 0;
  if (stats) *stats = st;
  return verdicts;
}

void TrafficAnalyzer::Apply(const std::vector<AnalyzerVerdict>& verdicts, BehaviorStore& store,
                            int64_t now_ns, int64_t now_wall_ms) {
  for (const AnalyzerVerdict& v : verdicts) {
    auto it = windows_.find(v.key);
    if (it == windows_.end()) continue;
    if (v.risk == 0 && it->second.last_risk == 0) continue;
    it->second.last_risk = v.risk;
    store.Update(v.key, now_ns, [&](AccountBehavior& st) {
      st.analyzer_risk = v.risk;
      st.analyzer_wall_ms = now_wall_ms;
    });
  }
}

}  // namespace tosgate::engine
