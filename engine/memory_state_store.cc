// The default StateStore: sharded hash maps in memory, bounded in entries.
//
// Keys are kept as 128-bit fingerprints, not as strings: a tracked key costs
// a 32-byte entry, its 16-byte fingerprint and the map's node and bucket
// (about 90 bytes in all; bench/limiter_bench measures it). Two different
// keys share a counter only if both 64-bit halves collide.
//
// Bounded without forgetting a live limit: when a shard is full, only idle
// entries are evicted, those that would read exactly as a fresh one (a
// window meter two windows past, a GCRA bucket refilled, a period that has
// ended, leases all expired). Forgetting a live one would hand its caller a
// fresh budget: a flood of new keys would reset the counter of whoever is
// being throttled. When no idle entry can be found, the new key is refused
// (ResourceExhausted, counted), and the engine decides by failure_mode.
#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/meters.h"
#include "engine/state_store.h"

namespace tosgate::engine {
namespace {

using meters::CheckSpec;
using meters::Entry;
using meters::Fingerprint;
using meters::FingerprintHash;
using meters::FingerprintOf;
using meters::Idle;
using meters::TakeGcra;
using meters::TakePeriod;
using meters::TakeWindow;

struct Lease {
  uint64_t id;
  int64_t expires_ns;
};

using MeterMap = std::unordered_map<Fingerprint, Entry, FingerprintHash>;
using LeaseMap = std::unordered_map<Fingerprint, std::vector<Lease>, FingerprintHash>;

struct Shard {
  std::mutex mu;
  MeterMap meters;
  LeaseMap leases;
  // Where the next sweep for idle entries starts (a bucket index): each
  // sweep goes on from where the last one stopped, so over successive
  // sweeps every entry is looked at (a clock sweep).
  size_t meter_hand = 0, lease_hand = 0;
};

bool Idle(const std::vector<Lease>& held, int64_t now) {
  for (const Lease& l : held)
    if (l.expires_ns > now) return false;
  return true;
}

class MemoryStateStore final : public StateStore {
 public:
  explicit MemoryStateStore(MemoryStateOptions o)
      : shards_(std::max<size_t>(1, o.shards)),
        per_shard_cap_(std::max<size_t>(1, o.max_entries / shards_.size())) {}

  Result<MeterResult> Take(std::string_view key, const MeterSpec& spec, int64_t cost,
                           int64_t now, int64_t max_delay) override {
    if (Status s = CheckSpec(spec, cost); !s.ok()) return s;
    const Fingerprint fp = FingerprintOf(key);
    Shard& shard = ShardFor(fp);
    std::lock_guard lock(shard.mu);
    auto it = shard.meters.find(fp);
    if (it == shard.meters.end()) {
      if (!MakeRoom(shard, now)) return Full();
      it = shard.meters.emplace(fp, Entry{}).first;
    }
    switch (spec.meter) {
      case Meter::kWindow: return TakeWindow(it->second, spec, cost, now);
      case Meter::kGcra: return TakeGcra(it->second, spec, cost, now, max_delay);
      case Meter::kPeriod: return TakePeriod(it->second, spec, cost, now);
    }
    return Status::InvalidArgument("unknown meter");
  }

  Status Adjust(std::string_view key, const MeterSpec& spec, int64_t taken_at, int64_t delta,
                int64_t now) override {
    if (Status s = CheckSpec(spec, 0); !s.ok()) return s;
    const Fingerprint fp = FingerprintOf(key);
    Shard& shard = ShardFor(fp);
    std::lock_guard lock(shard.mu);
    auto it = shard.meters.find(fp);
    if (it == shard.meters.end()) return Status::Ok();  // evicted or expired: nothing to fix
    meters::AdjustEntry(it->second, spec, taken_at, delta, now);
    return Status::Ok();
  }

  Result<MeterResult> Acquire(std::string_view key, uint64_t lease_id, int64_t limit, int64_t now,
                              int64_t ttl) override {
    if (limit <= 0 || ttl <= 0) return Status::InvalidArgument("limit and lease time must be > 0");
    const Fingerprint fp = FingerprintOf(key);
    Shard& shard = ShardFor(fp);
    std::lock_guard lock(shard.mu);
    auto it = shard.leases.find(fp);
    if (it == shard.leases.end()) {
      if (!MakeRoom(shard, now)) return Full();
      it = shard.leases.emplace(fp, std::vector<Lease>{}).first;
    }
    std::vector<Lease>& held = it->second;
    std::erase_if(held, [now](const Lease& l) { return l.expires_ns <= now; });
    MeterResult r;
    if (static_cast<int64_t>(held.size()) < limit) {
      held.push_back({lease_id, now + ttl});
      r.allowed = true;
    } else {
      int64_t first = held.front().expires_ns;
      for (const Lease& l : held) first = std::min(first, l.expires_ns);
      r.retry_after_ns = first - now;  // at the latest; a release frees one sooner
    }
    r.used = static_cast<int64_t>(held.size());
    r.remaining = limit - r.used;
    return r;
  }

  void Release(std::string_view key, uint64_t lease_id) override {
    const Fingerprint fp = FingerprintOf(key);
    Shard& shard = ShardFor(fp);
    std::lock_guard lock(shard.mu);
    auto it = shard.leases.find(fp);
    if (it == shard.leases.end()) return;
    std::erase_if(it->second, [lease_id](const Lease& l) { return l.id == lease_id; });
    if (it->second.empty()) shard.leases.erase(it);
  }

  // On a copy of the entry (a fresh one when untracked): the arithmetic is
  // Take's, the store is left as it was.
  Result<MeterResult> Peek(std::string_view key, const MeterSpec& spec, int64_t now) override {
    if (Status s = CheckSpec(spec, 0); !s.ok()) return s;
    const Fingerprint fp = FingerprintOf(key);
    Shard& shard = ShardFor(fp);
    Entry copy;
    {
      std::lock_guard lock(shard.mu);
      if (auto it = shard.meters.find(fp); it != shard.meters.end()) copy = it->second;
    }
    switch (spec.meter) {
      case Meter::kWindow: return TakeWindow(copy, spec, 0, now);
      case Meter::kGcra: return TakeGcra(copy, spec, 0, now, 0);
      case Meter::kPeriod: return TakePeriod(copy, spec, 0, now);
    }
    return Status::InvalidArgument("unknown meter");
  }

  Result<int64_t> LeasesHeld(std::string_view key, int64_t now) override {
    const Fingerprint fp = FingerprintOf(key);
    Shard& shard = ShardFor(fp);
    std::lock_guard lock(shard.mu);
    auto it = shard.leases.find(fp);
    if (it == shard.leases.end()) return int64_t{0};
    int64_t live = 0;
    for (const Lease& l : it->second) live += l.expires_ns > now;
    return live;
  }

  size_t entries() const override {
    size_t n = 0;
    for (Shard& s : shards_) {
      std::lock_guard lock(s.mu);
      n += s.meters.size() + s.leases.size();
    }
    return n;
  }
  uint64_t evictions() const override { return evictions_.load(std::memory_order_relaxed); }
  uint64_t refusals() const override { return refusals_.load(std::memory_order_relaxed); }

 private:
  Shard& ShardFor(const Fingerprint& fp) { return shards_[fp.hi % shards_.size()]; }

  // Whether a new entry fits in `shard`, after evicting idle ones if it was
  // full. Meters and leases share the shard's bound.
  bool MakeRoom(Shard& shard, int64_t now) {
    if (shard.meters.size() + shard.leases.size() < per_shard_cap_) return true;
    size_t freed = Sweep(shard.meters, shard.meter_hand, now);
    if (freed == 0) freed = Sweep(shard.leases, shard.lease_hand, now);
    evictions_.fetch_add(freed, std::memory_order_relaxed);
    return freed > 0;
  }

  // Looks at up to kSweepEntries entries (in at most kSweepBuckets buckets)
  // from `hand` on and drops every idle one among them: O(1) per insert, and
  // one sweep usually frees room for many. Returns how many it dropped.
  template <class Map>
  static size_t Sweep(Map& map, size_t& hand, int64_t now) {
    constexpr size_t kSweepEntries = 64, kSweepBuckets = 256;
    const size_t buckets = map.bucket_count();
    if (map.empty() || buckets == 0) return 0;
    Fingerprint idle[kSweepEntries];
    size_t found = 0, seen = 0, b = hand % buckets;
    for (size_t visited = 0; visited < std::min(buckets, kSweepBuckets) && seen < kSweepEntries;
         ++visited, b = b + 1 == buckets ? 0 : b + 1) {
      for (auto it = map.begin(b); it != map.end(b); ++it, ++seen)
        if (Idle(it->second, now) && found < kSweepEntries) idle[found++] = it->first;
    }
    hand = b;
    for (size_t i = 0; i < found; ++i) map.erase(idle[i]);
    return found;
  }

  Status Full() {
    refusals_.fetch_add(1, std::memory_order_relaxed);
    const size_t bound = per_shard_cap_ * shards_.size();
    return Status::ResourceExhausted("state store full: " + std::to_string(bound) +
                                     " live entries (state.max_entries), none idle to evict");
  }

  mutable std::vector<Shard> shards_;
  const size_t per_shard_cap_;
  std::atomic<uint64_t> evictions_{0};
  std::atomic<uint64_t> refusals_{0};
};

}  // namespace

std::unique_ptr<StateStore> NewMemoryStateStore(MemoryStateOptions opts) {
  return std::make_unique<MemoryStateStore>(opts);
}

}  // namespace tosgate::engine
