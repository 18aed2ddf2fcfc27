// The default BehaviorStore: sharded hash tables in memory, bounded.
//
// Keys are 64-bit hashes (of rule id and account, or of a bucket's name), so
// a record costs its fixed size plus the table's overhead, never a string.
// Accounts and cluster buckets are both in flat tables
// (engine/distill/flat_table.h): a record's place follows from its key, so
// Prefetch can start loading an account's record and its buckets while the
// rule is still reading the prompt. When a shard is full one of a few
// sampled records goes, bounded memory at constant cost, counted:
//  - accounts: never one seen within live_ns (a flood of fresh accounts
//    must not wipe the history of the one being watched; the newcomer gets
//    no history instead, counted), idle ones without evidence first, then
//    the least recently seen;
//  - cluster buckets: those linking a single account first (they say
//    nothing about a cluster yet), then the least recently seen; never
//    refused, since every request makes new ones.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "engine/distill/behavior_store.h"
#include "engine/distill/flat_table.h"
#include "engine/distill/text_features.h"

namespace tosgate::engine {
namespace {

// Distinct accounts per bucket by linear counting over 256 bits: exact
// enough (a few %) up to about a thousand accounts, 32 bytes.
struct Bucket {
  std::array<uint64_t, 4> bits{};
  int64_t last_ns = 0;
  float suspicion = 0;
  uint16_t links = 0;  // up to 256
  uint16_t set = 0;    // bits set
};

template <class V>
struct Shard {
  explicit Shard(size_t max_entries) : table(max_entries) {}
  mutable std::mutex mu;
  FlatTable<V> table;
};

template <class V>
std::vector<std::unique_ptr<Shard<V>>> MakeShards(size_t shards, size_t max_entries) {
  std::vector<std::unique_ptr<Shard<V>>> out;
  for (size_t i = 0; i < shards; ++i)
    out.push_back(std::make_unique<Shard<V>>(std::max<size_t>(1, max_entries / shards)));
  return out;
}

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

class MemoryBehaviorStore final : public BehaviorStore {
 public:
  explicit MemoryBehaviorStore(MemoryBehaviorOptions o)
      : accounts_(MakeShards<AccountBehavior>(std::max<size_t>(1, o.shards), o.max_accounts)),
        buckets_(MakeShards<Bucket>(std::max<size_t>(1, o.shards), o.max_buckets)),
        live_ns_(std::max<int64_t>(0, o.live_ns)),
        keep_evidence_(o.keep_evidence) {}

  void Prefetch(uint64_t key, const uint64_t* buckets, size_t n) const override {
    AccountShard(key).table.Prefetch(key);
    for (size_t i = 0; i < n; ++i) BucketShard(buckets[i]).table.Prefetch(buckets[i]);
  }

  void Update(uint64_t key, int64_t now_ns, FunctionRef<void(AccountBehavior&)> fn) override {
    Shard<AccountBehavior>& s = AccountShard(key);
    std::lock_guard lock(s.mu);
    bool inserted = false, evicted = false;
    // Evictable: idle for live_ns; rank: without evidence first, then the
    // least recently seen.
    auto rank = [&](const AccountBehavior& a) -> std::optional<std::pair<bool, int64_t>> {
      if (now_ns - a.last_ns < live_ns_) return std::nullopt;
      return std::pair(Evidence(a) >= keep_evidence_, a.last_ns);
    };
    AccountBehavior* record = s.table.FindOrInsert(key, &inserted, &evicted, rank);
    if (evicted) account_evictions_.fetch_add(1, std::memory_order_relaxed);
    if (!record) {
      account_refusals_.fetch_add(1, std::memory_order_relaxed);
      AccountBehavior scratch{};
      scratch.last_ns = now_ns;
      fn(scratch);
      return;
    }
    if (inserted) record->last_ns = now_ns;
    fn(*record);
  }

  ClusterObservation Link(uint64_t bucket, uint64_t account, float suspicion,
                          int64_t now_ns) override {
    ClusterObservation o;
    LinkMany(&bucket, 1, account, suspicion, now_ns, &o);
    return o;
  }

  void LinkMany(const uint64_t* buckets, size_t n, uint64_t account, float suspicion,
                int64_t now_ns, ClusterObservation* out) override {
    for (size_t i = 0; i < n; ++i) BucketShard(buckets[i]).table.Prefetch(buckets[i]);
    const uint64_t bit = MixHash(account) >> 56;  // 0..255
    const std::array<uint32_t, 257>& counts = LinearCounts();
    for (size_t i = 0; i < n; ++i) {
      Shard<Bucket>& s = BucketShard(buckets[i]);
      std::lock_guard lock(s.mu);
      bool inserted = false, evicted = false;
      Bucket& b = *s.table.FindOrInsert(buckets[i], &inserted, &evicted, [](const Bucket& v) {
        return std::optional(std::pair(v.set > 1, v.last_ns));
      });
      if (evicted) bucket_evictions_.fetch_add(1, std::memory_order_relaxed);
      uint64_t& word = b.bits[bit >> 6];
      const uint64_t mask = uint64_t{1} << (bit & 63);
      b.set += (word & mask) == 0;
      word |= mask;
      b.last_ns = now_ns;
      // The mean over the bucket's requests, weighted towards the last 256.
      b.links += b.links < 256;
      b.suspicion += (suspicion - b.suspicion) / static_cast<float>(b.links);
      out[i] = {counts[b.set], b.suspicion};
    }
  }

  BehaviorStats stats() const override {
    BehaviorStats st;
    for (auto& s : accounts_) {
      std::lock_guard lock(s->mu);
      st.accounts += s->table.size();
    }
    for (auto& s : buckets_) {
      std::lock_guard lock(s->mu);
      st.buckets += s->table.size();
    }
    st.account_evictions = account_evictions_.load(std::memory_order_relaxed);
    st.bucket_evictions = bucket_evictions_.load(std::memory_order_relaxed);
    st.account_refusals = account_refusals_.load(std::memory_order_relaxed);
    return st;
  }

 private:
  // The shard of a key: the high half of a multiply scales MixHash(key) to the
  // shard count, without a division (a request picks up to 15 shards).
  template <class V>
  static Shard<V>& ShardOf(const std::vector<std::unique_ptr<Shard<V>>>& shards, uint64_t key) {
    return *shards[static_cast<size_t>((static_cast<unsigned __int128>(MixHash(key)) * shards.size()) >> 64)];
  }
  Shard<AccountBehavior>& AccountShard(uint64_t key) const { return ShardOf(accounts_, key); }
  Shard<Bucket>& BucketShard(uint64_t bucket) const { return ShardOf(buckets_, bucket); }

  std::vector<std::unique_ptr<Shard<AccountBehavior>>> accounts_;
  std::vector<std::unique_ptr<Shard<Bucket>>> buckets_;
  // What an account's record says against it, 0..1: its highest signal rate.
  static float Evidence(const AccountBehavior& a) {
    return std::max({a.template_rate, a.cot_rate, a.logprob_rate, a.output_rate, a.cluster});
  }

  const int64_t live_ns_;
  const float keep_evidence_;
  std::atomic<uint64_t> account_evictions_{0}, bucket_evictions_{0}, account_refusals_{0};
};

}  // namespace

std::unique_ptr<BehaviorStore> NewMemoryBehaviorStore(MemoryBehaviorOptions opts) {
  return std::make_unique<MemoryBehaviorStore>(opts);
}

}  // namespace tosgate::engine
