#include "engine/distill/feature_log.h"

#include <algorithm>

namespace tosgate::engine {
namespace {
std::atomic<uint64_t> next_thread{0};  // hands each thread its shard
}  // namespace

FeatureLog::FeatureLog(size_t capacity, size_t shards)
    : shards_(new Shard[std::max<size_t>(shards, 1)]), n_shards_(std::max<size_t>(shards, 1)) {
  const size_t per = std::max<size_t>(capacity / n_shards_, 1);
  for (size_t i = 0; i < n_shards_; ++i) shards_[i].ring.resize(per);
}

FeatureLog::Shard& FeatureLog::Mine() {
  // A thread keeps its shard for life: request threads spread over the
  // shards round-robin, and one thread's samples stay in order.
  thread_local const uint64_t ticket = next_thread.fetch_add(1, std::memory_order_relaxed);
  return shards_[ticket % n_shards_];
}

void FeatureLog::Append(const AnalyzerSample& s) {
  Shard& sh = Mine();
  std::lock_guard lock(sh.mu);
  const uint64_t cap = sh.ring.size();
  if (sh.written >= cap && sh.written - cap >= sh.collected) ++sh.dropped;
  sh.ring[sh.written % cap] = s;
  ++sh.written;
}

void FeatureLog::Collect(std::vector<AnalyzerSample>* out) {
  for (size_t i = 0; i < n_shards_; ++i) {
    Shard& sh = shards_[i];
    std::lock_guard lock(sh.mu);
    const uint64_t cap = sh.ring.size();
    const uint64_t from = std::max(sh.collected, sh.written > cap ? sh.written - cap : 0);
    for (uint64_t at = from; at < sh.written; ++at) out->push_back(sh.ring[at % cap]);
    sh.collected = sh.written;
  }
}

FeatureLogStats FeatureLog::stats() const {
  FeatureLogStats st;
  for (size_t i = 0; i < n_shards_; ++i) {
    const Shard& sh = shards_[i];
    std::lock_guard lock(sh.mu);
    st.appended += sh.written;
    st.dropped += sh.dropped;
    st.held += static_cast<size_t>(std::min<uint64_t>(sh.written, sh.ring.size()));
  }
  return st;
}

}  // namespace tosgate::engine
