// FlatTable: an open-addressing hash table of fixed-size records keyed by a
// 64-bit hash, for the memory BehaviorStore's accounts and cluster buckets.
// Where std::unordered_map costs a bucket array read and then a node read,
// two dependent cache misses, a record here is found from its key alone:
// Prefetch can start loading it before the caller needs it.
//
// Keys and records are two parallel arrays: a probe walks the dense key
// array (eight keys a cache line) and touches one record. Linear probing,
// at most 3/4 full; the capacity need not be a power of two (the home slot
// is the high half of a multiply), so it grows by half (never less than
// half full after growing) and a table grown to `max_entries` holds them at
// 3/4 and no emptier. From there a new key evicts one of a few records
// sampled round-robin (a clock sweep): by default the least recently seen
// (V::last_ns); the owner may rank them instead, and say which may not be
// evicted at all, and then a new key finds no room when none of up to
// kEvictionScan records may go. Bounded memory at constant cost. Deletion
// shifts the records after it back, so
// there are no tombstones. Key 0 marks an empty slot: a key of 0 is stored
// as 1 (keys are hashes; a collision of two 64-bit hashes is already
// possible).
//
// Not thread-safe: the owner locks. Prefetch may be called without the lock
// (it reads only atomic hints of where the arrays are).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace tosgate::engine {

template <class V>
class FlatTable {
 public:
  static_assert(std::is_trivially_copyable_v<V>);
  static constexpr int kEvictionSample = 8;
  static constexpr int kEvictionScan = 64;

  explicit FlatTable(size_t max_entries)
      : max_entries_(std::max<size_t>(1, max_entries)),
        full_capacity_(max_entries_ + (max_entries_ + 2) / 3) {
    Allocate(std::min<size_t>(16, full_capacity_));
  }

  // The record of `key`, or null.
  V* Find(uint64_t key) {
    key = Fix(key);
    for (size_t i = Home(key, cap_);; i = Next(i)) {
      if (keys_[i] == key) return &values_[i];
      if (keys_[i] == 0) return nullptr;
    }
  }

  // The record of `key`; a value-initialized one when there was none, after
  // evicting the least recently seen of a few records if the table was full
  // (*evicted then set).
  V* FindOrInsert(uint64_t key, bool* inserted, bool* evicted) {
    return FindOrInsert(key, inserted, evicted,
                        [](const V& v) { return std::optional(std::pair(0, v.last_ns)); });
  }

  // The same, with the owner's ranking of what to evict: `rank(record)` is
  // a comparable value, the lowest sampled one is evicted first, and nullopt
  // means that record must not be. Null, with *inserted false, when the
  // table is full and none of up to kEvictionScan records may be evicted.
  template <class Rank>
  V* FindOrInsert(uint64_t key, bool* inserted, bool* evicted, Rank&& rank) {
    key = Fix(key);
    *inserted = *evicted = false;
    size_t i = Home(key, cap_);
    for (;; i = Next(i)) {
      if (keys_[i] == key) return &values_[i];
      if (keys_[i] == 0) break;
    }
    if (size_ >= max_entries_) {
      if (!EvictOne(rank)) return nullptr;
      *evicted = true;
    } else if ((size_ + 1) * 4 > cap_ * 3) {
      Allocate(std::min(cap_ + cap_ / 2, full_capacity_));
    } else {
      *inserted = true;
      return Put(i, key);
    }
    *inserted = true;
    for (i = Home(key, cap_); keys_[i] != 0;) i = Next(i);
    return Put(i, key);
  }

  // Starts loading the key and the record where `key` would be found
  // (where it is, unless an earlier key took its slot).
  void Prefetch(uint64_t key) const {
    const uint64_t* keys = hint_keys_.load(std::memory_order_relaxed);
    const V* values = hint_values_.load(std::memory_order_relaxed);
    const size_t i = Home(Fix(key), hint_cap_.load(std::memory_order_relaxed));
    __builtin_prefetch(keys + i);
    const char* p = reinterpret_cast<const char*>(values + i);
    for (size_t line = 0; line < sizeof(V); line += 64) __builtin_prefetch(p + line, 1);
    __builtin_prefetch(p + sizeof(V) - 1, 1);
  }

  size_t size() const { return size_; }
  size_t capacity() const { return cap_; }
  size_t max_entries() const { return max_entries_; }

 private:
  static uint64_t Fix(uint64_t key) { return key == 0 ? 1 : key; }
  // Keys are hashes already; the multiply spreads all their bits (the store
  // chose the shard with another mix of them) and its high half scales the
  // result to [0, cap).
  static size_t Home(uint64_t key, size_t cap) {
    const uint64_t mixed = key * 0x9E3779B97F4A7C15ULL;
    return static_cast<size_t>((static_cast<unsigned __int128>(mixed) * cap) >> 64);
  }
  size_t Next(size_t i) const { return i + 1 == cap_ ? 0 : i + 1; }
  // How far slot `j` is past slot `i`, going round.
  size_t Distance(size_t i, size_t j) const { return j >= i ? j - i : j + cap_ - i; }

  V* Put(size_t i, uint64_t key) {
    keys_[i] = key;
    values_[i] = V{};
    ++size_;
    return &values_[i];
  }

  void Allocate(size_t cap) {
    std::unique_ptr<uint64_t[]> old_keys = std::move(keys_);
    std::unique_ptr<V[]> old_values = std::move(values_);
    const size_t old_cap = old_keys ? cap_ : 0;
    keys_ = std::make_unique<uint64_t[]>(cap);
    values_ = std::make_unique<V[]>(cap);
    cap_ = cap;
    for (size_t j = 0; j < old_cap; ++j) {
      if (old_keys[j] == 0) continue;
      size_t i = Home(old_keys[j], cap_);
      while (keys_[i] != 0) i = Next(i);
      keys_[i] = old_keys[j];
      values_[i] = old_values[j];
    }
    hint_keys_.store(keys_.get(), std::memory_order_relaxed);
    hint_values_.store(values_.get(), std::memory_order_relaxed);
    hint_cap_.store(cap_, std::memory_order_relaxed);
  }

  // Looks at kEvictionSample records from the hand on, going on up to
  // kEvictionScan while none of them may be evicted, and evicts the lowest
  // ranked. The hand then points past what was looked at, so the next call
  // looks at other records.
  template <class Rank>
  bool EvictOne(Rank& rank) {
    size_t victim = SIZE_MAX;
    std::remove_cvref_t<decltype(*rank(values_[0]))> best{};
    int sampled = 0;
    size_t n = 0;
    for (; n < cap_ && sampled < kEvictionScan && (sampled < kEvictionSample || victim == SIZE_MAX);
         ++n) {
      const size_t i = (hand_ + n) % cap_;
      if (keys_[i] == 0) continue;
      ++sampled;
      const auto r = rank(values_[i]);
      if (r && (victim == SIZE_MAX || *r < best)) victim = i, best = *r;
    }
    if (victim == SIZE_MAX) {
      hand_ = (hand_ + n) % cap_;
      return false;
    }
    hand_ = Next(victim);
    Erase(victim);
    return true;
  }

  // Backward-shift deletion: each later record of the probe run moves into
  // the hole when its home does not lie between the hole and it.
  void Erase(size_t hole) {
    for (size_t j = Next(hole); keys_[j] != 0; j = Next(j)) {
      if (Distance(Home(keys_[j], cap_), j) >= Distance(hole, j)) {
        keys_[hole] = keys_[j];
        values_[hole] = values_[j];
        hole = j;
      }
    }
    keys_[hole] = 0;
    --size_;
  }

  size_t max_entries_, full_capacity_;
  std::unique_ptr<uint64_t[]> keys_;
  std::unique_ptr<V[]> values_;
  size_t cap_ = 0, size_ = 0, hand_ = 0;
  std::atomic<const uint64_t*> hint_keys_{nullptr};
  std::atomic<const V*> hint_values_{nullptr};
  std::atomic<size_t> hint_cap_{0};
};

}  // namespace tosgate::engine
