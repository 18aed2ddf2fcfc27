// FeatureLog: the bounded ring of per-request feature vectors that the
// in-path competitor_training rule appends to and the out-of-path traffic
// analyzer (engine/distill/analyzer.h) reads.
//
// The rule gets the log through RuleContext::feature_log, which the engine
// fills from EngineOptions::feature_log (null: nothing is logged). Append
// is the only call on the request path: a short critical section on one of
// several shards (chosen per thread, so request threads rarely meet), no
// allocation. When a shard is full the oldest sample is overwritten; one
// overwritten before the analyzer collected it is counted as dropped.
// Every call is safe from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace tosgate::engine {

inline constexpr size_t kAnalyzerFeatures = 8;

// One request as the analyzer sees it. Filled by the rule; each feature
// scaled to about [0, 1], higher meaning more harvest-shaped:
//   x[0] harvest text model score        x[4] max_tokens / the model's maximum
//   x[1] chain-of-thought request (0/1)  x[5] n (samples), e.g. min(n, 8) / 8
//   x[2] logprobs requested (0..1)       x[6] temperature / 2
//   x[3] output share of the tokens      x[7] reasoning effort (none 0 .. high 1)
// The analyzer needs no more than "comparable across requests"; a feature the
// rule cannot read stays 0 for every request and then does not matter.
struct AnalyzerSample {
  uint64_t key = 0;     // the BehaviorStore key of (rule, account)
  int64_t wall_ms = 0;  // when the request was decided
  std::array<float, kAnalyzerFeatures> x{};
};

struct FeatureLogStats {
  uint64_t appended = 0;  // samples appended since start
  uint64_t dropped = 0;   // overwritten before the analyzer collected them
  size_t held = 0;        // samples in the ring now
};

class FeatureLog {
 public:
  // Holds up to `capacity` samples (48 bytes each) in all; at least one a shard.
  explicit FeatureLog(size_t capacity = 1 << 18, size_t shards = 16);
  FeatureLog(const FeatureLog&) = delete;
  FeatureLog& operator=(const FeatureLog&) = delete;

  void Append(const AnalyzerSample& s);

  // Appends to *out every held sample not collected by an earlier call, and
  // marks them collected (the ring keeps them until overwritten). Samples
  // of one shard come oldest first; shards are not merged by time.
  void Collect(std::vector<AnalyzerSample>* out);

  FeatureLogStats stats() const;

 private:
  struct alignas(64) Shard {
    mutable std::mutex mu;
    std::vector<AnalyzerSample> ring;  // sized once, never grows
    uint64_t written = 0;              // samples ever written here
    uint64_t collected = 0;            // `written` at the last Collect
    uint64_t dropped = 0;
  };
  Shard& Mine();

  std::unique_ptr<Shard[]> shards_;
  size_t n_shards_;
};

}  // namespace tosgate::engine
