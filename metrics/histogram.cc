#include "metrics/histogram.h"

#include <cstdio>

namespace tosgate::metrics {
namespace {

std::string Seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", s);
  return buf;
}

}  // namespace

void LatencyHistogram::Observe(int64_t ns) {
  if (ns < 0) ns = 0;
  const double s = static_cast<double>(ns) / 1e9;
  size_t i = 0;
  while (i < kBoundsSeconds.size() && s > kBoundsSeconds[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<uint64_t>(ns), std::memory_order_relaxed);
}

void LatencyHistogram::RenderSamples(const std::string& name, std::string* out) const {
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kBoundsSeconds.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    *out += name + "_bucket{le=\"" + Seconds(kBoundsSeconds[i]) + "\"} " +
            std::to_string(cumulative) + "\n";
  }
  cumulative += buckets_[kBoundsSeconds.size()].load(std::memory_order_relaxed);
  *out += name + "_bucket{le=\"+Inf\"} " + std::to_string(cumulative) + "\n";
  *out += name + "_sum " +
          Seconds(static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9) + "\n";
  // The count is the buckets' total, so the exposition stays consistent
  // even while observations land between the loads above.
  *out += name + "_count " + std::to_string(cumulative) + "\n";
}

}  // namespace tosgate::metrics
