// The default BehaviorStore: sharded hash tables in memory, bounded.
//
// Keys are 64-bit hashes (of rule id and account, or of a bucket's name), so
// a record costs its fixed size plus the table's overhead, never a string.
// When a shard is full the least recently seen of a few sampled records goes
// (an approximate LRU, like Redis's): bounded memory at constant cost,
// counted. Accounts are in node maps (a 344-byte record would waste too much
// in empty slots); cluster buckets, a cache line each, in flat tables
// (engine/distill/flat_table.h), where a link costs one cache miss.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "engine/distill/behavior_store.h"
#include "engine/distill/flat_table.h"
#include "engine/distill/text_features.h"

namespace tosgate::engine {
namespace {

constexpr int kEvictionSample = 8;

// Distinct accounts per bucket by linear counting over 256 bits: exact
// enough (a few %) up to about a thousand accounts, 32 bytes.
struct Bucket {
  std::array<uint64_t, 4> bits{};
  int64_t last_ns = 0;
  float suspicion = 0;
  uint32_t links = 0;
};

struct IdentityHash {
  size_t operator()(uint64_t k) const noexcept { return static_cast<size_t>(k); }
};

template <class V>
struct Shard {
  std::mutex mu;
  std::unordered_map<uint64_t, V, IdentityHash> map;
  size_t hand = 0;  // where the next eviction sample starts
};

struct BucketShard {
  explicit BucketShard(size_t max_entries) : table(max_entries) {}
  std::mutex mu;
  FlatTable<Bucket> table;
};

// Distinct accounts from the number of bits set of 256 (linear counting),
// worked out once.
const std::array<uint32_t, 257>& LinearCounts() {
  static const std::array<uint32_t, 257> table = [] {
    std::array<uint32_t, 257> t{};
    for (int set = 0; set <= 256; ++set) {
      const double zeros = std::max(1, 256 - set);
      t[set] = static_cast<uint32_t>(std::lround(std::max(1.0, -256.0 * std::log(zeros / 256.0))));
    }
    return t;
  }();
  return table;
}

// Evicts the least recently seen of a few records from a shard that is full.
template <class V>
void EvictOne(Shard<V>& s) {
  auto& m = s.map;
  const size_t n = m.bucket_count();
  typename std::unordered_map<uint64_t, V, IdentityHash>::iterator victim = m.end();
  int sampled = 0;
  for (size_t i = 0; i < n && sampled < kEvictionSample; ++i) {
    const size_t b = (s.hand + i) % n;
    for (auto it = m.begin(b); it != m.end(b) && sampled < kEvictionSample; ++it, ++sampled) {
      auto found = m.find(it->first);
      if (victim == m.end() || found->second.last_ns < victim->second.last_ns) victim = found;
    }
    s.hand = b + 1;
  }
  if (victim != m.end()) m.erase(victim);
}

uint64_t Mix(uint64_t x) {  // splitmix64 finalizer: spreads hashes over shards and bits
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

class MemoryBehaviorStore final : public BehaviorStore {
 public:
  explicit MemoryBehaviorStore(MemoryBehaviorOptions o) : accounts_(std::max<size_t>(1, o.shards)) {
    const size_t n = accounts_.size();
    per_shard_accounts_ = std::max<size_t>(1, o.max_accounts / n);
    const size_t per_shard_buckets = std::max<size_t>(1, o.max_buckets / n);
    buckets_.reserve(n);
    for (size_t i = 0; i < n; ++i) buckets_.push_back(std::make_unique<BucketShard>(per_shard_buckets));
  }

  void Update(uint64_t key, int64_t now_ns, FunctionRef<void(AccountBehavior&)> fn) override {
    Shard<AccountBehavior>& s = accounts_[Mix(key) % accounts_.size()];
    std::lock_guard lock(s.mu);
    auto it = s.map.find(key);
    if (it == s.map.end()) {
      if (s.map.size() >= per_shard_accounts_) {
        EvictOne(s);
        account_evictions_.fetch_add(1, std::memory_order_relaxed);
      }
      it = s.map.emplace(key, AccountBehavior{}).first;
      it->second.last_ns = now_ns;
    }
    fn(it->second);
  }

  ClusterObservation Link(uint64_t bucket, uint64_t account, float suspicion,
                          int64_t now_ns) override {
    ClusterObservation o;
    LinkMany(&bucket, 1, account, suspicion, now_ns, &o);
    return o;
  }

  void LinkMany(const uint64_t* buckets, size_t n, uint64_t account, float suspicion,
                int64_t now_ns, ClusterObservation* out) override {
    for (size_t i = 0; i < n; ++i) ShardOf(buckets[i]).table.Prefetch(buckets[i]);
    const uint64_t bit = Mix(account) >> 56;  // 0..255
    for (size_t i = 0; i < n; ++i) {
      BucketShard& s = ShardOf(buckets[i]);
      std::lock_guard lock(s.mu);
      bool inserted = false, evicted = false;
      Bucket& b = *s.table.FindOrInsert(buckets[i], &inserted, &evicted);
      if (evicted) bucket_evictions_.fetch_add(1, std::memory_order_relaxed);
      b.bits[bit >> 6] |= uint64_t{1} << (bit & 63);
      b.last_ns = now_ns;
      // The mean over the bucket's requests, weighted towards the last 256.
      b.links += b.links < 256;
      b.suspicion += (suspicion - b.suspicion) / static_cast<float>(b.links);
      int set = 0;
      for (uint64_t w : b.bits) set += Popcount(w);
      out[i] = {LinearCounts()[set], b.suspicion};
    }
  }

  BehaviorStats stats() const override {
    BehaviorStats st;
    for (auto& s : accounts_) {
      std::lock_guard lock(s.mu);
      st.accounts += s.map.size();
    }
    for (auto& s : buckets_) {
      std::lock_guard lock(s->mu);
      st.buckets += s->table.size();
    }
    st.account_evictions = account_evictions_.load(std::memory_order_relaxed);
    st.bucket_evictions = bucket_evictions_.load(std::memory_order_relaxed);
    return st;
  }

 private:
  BucketShard& ShardOf(uint64_t bucket) const { return *buckets_[Mix(bucket) % buckets_.size()]; }

  mutable std::vector<Shard<AccountBehavior>> accounts_;
  std::vector<std::unique_ptr<BucketShard>> buckets_;
  size_t per_shard_accounts_ = 1;
  std::atomic<uint64_t> account_evictions_{0}, bucket_evictions_{0};
};

}  // namespace

std::unique_ptr<BehaviorStore> NewMemoryBehaviorStore(MemoryBehaviorOptions opts) {
  return std::make_unique<MemoryBehaviorStore>(opts);
}

}  // namespace tosgate::engine
