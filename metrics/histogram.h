// A latency histogram with fixed buckets, counted with relaxed atomics: no
// lock on the data path. Registered in a metrics::Registry, which renders it.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

namespace tosgate::metrics {

class LatencyHistogram {
 public:
  static constexpr std::array<double, 14> kBoundsSeconds = {
      0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005,
      0.001,    0.0025,  0.005,    0.01,    0.025,  0.1,     1.0};
  void Observe(int64_t ns);
  // Prometheus histogram sample lines for `name` (_bucket, _sum, _count),
  // without the HELP and TYPE lines.
  void RenderSamples(const std::string& name, std::string* out) const;
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  std::array<std::atomic<uint64_t>, kBoundsSeconds.size() + 1> buckets_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_ns_{0};
};

}  // namespace tosgate::metrics
