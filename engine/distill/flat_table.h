// FlatTable: an open-addressing hash table of fixed-size records keyed by a
// 64-bit hash, for the memory BehaviorStore's cluster buckets. One probe is
// usually one cache line (a record plus its key fits in 64 bytes), where
// std::unordered_map costs a bucket array read and a node read, each a
// likely cache miss at a few hundred thousand entries.
//
// Linear probing, at most 3/4 full; it doubles until it can hold
// `max_entries`, and from there a new key evicts the least recently seen
// (V::last_ns) of a few records sampled round-robin: bounded memory at
// constant cost. Deletion shifts the records after it back, so there are
// no tombstones. Key 0 marks an empty slot: a key of 0 is stored as 1
// (keys are hashes; a collision of two 64-bit hashes is already possible).
//
// Not thread-safe: the owner locks. Prefetch may be called without the lock
// (it reads only an atomic hint of where the slots are).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>

namespace tosgate::engine {

template <class V>
class FlatTable {
 public:
  static_assert(std::is_trivially_copyable_v<V>);
  struct alignas(64) Slot {
    uint64_t key = 0;
    V value;
  };
  static constexpr int kEvictionSample = 8;

  explicit FlatTable(size_t max_entries, size_t initial_capacity = 16)
      : max_entries_(std::max<size_t>(1, max_entries)) {
    size_t cap = 16;
    while (cap < initial_capacity) cap *= 2;
    Allocate(cap);
  }

  // The record of `key`, or null.
  V* Find(uint64_t key) {
    key = Fix(key);
    for (size_t i = Home(key);; i = (i + 1) & mask_) {
      if (slots_[i].key == key) return &slots_[i].value;
      if (slots_[i].key == 0) return nullptr;
    }
  }

  // The record of `key`; a value-initialized one when there was none, after
  // evicting one record if the table was full (*evicted then set).
  V* FindOrInsert(uint64_t key, bool* inserted, bool* evicted) {
    key = Fix(key);
    *inserted = *evicted = false;
    for (size_t i = Home(key);; i = (i + 1) & mask_) {
      if (slots_[i].key == key) return &slots_[i].value;
      if (slots_[i].key == 0) break;
    }
    *inserted = true;
    if (size_ >= max_entries_) {
      EvictOne();
      *evicted = true;
    } else if ((size_ + 1) * 4 > capacity() * 3) {
      Allocate(capacity() * 2);
    }
    size_t i = Home(key);
    while (slots_[i].key != 0) i = (i + 1) & mask_;
    slots_[i].key = key;
    slots_[i].value = V{};
    ++size_;
    return &slots_[i].value;
  }

  // Starts loading the cache line where `key` would be found.
  void Prefetch(uint64_t key) const {
    const Slot* base = hint_slots_.load(std::memory_order_relaxed);
    const size_t mask = hint_mask_.load(std::memory_order_relaxed);
    __builtin_prefetch(base + (Mix(Fix(key)) & mask), 1);
  }

  size_t size() const { return size_; }
  size_t capacity() const { return mask_ + 1; }
  size_t max_entries() const { return max_entries_; }

 private:
  static uint64_t Fix(uint64_t key) { return key == 0 ? 1 : key; }
  // Keys are hashes already; the multiply takes the table's bits from all
  // of them (the store chose the shard with another mix of the low bits).
  static uint64_t Mix(uint64_t key) { return (key * 0x9E3779B97F4A7C15ULL) >> 17; }
  size_t Home(uint64_t key) const { return Mix(key) & mask_; }

  void Allocate(size_t cap) {
    std::unique_ptr<Slot[]> old = std::move(slots_);
    const size_t old_cap = old ? mask_ + 1 : 0;
    slots_ = std::make_unique<Slot[]>(cap);
    mask_ = cap - 1;
    for (size_t j = 0; j < old_cap; ++j) {
      if (old[j].key == 0) continue;
      size_t i = Home(old[j].key);
      while (slots_[i].key != 0) i = (i + 1) & mask_;
      slots_[i] = old[j];
    }
    hint_slots_.store(slots_.get(), std::memory_order_relaxed);
    hint_mask_.store(mask_, std::memory_order_relaxed);
  }

  void EvictOne() {
    size_t victim = SIZE_MAX;
    int sampled = 0;
    for (size_t n = 0; n <= mask_ && sampled < kEvictionSample; ++n) {
      const size_t i = (hand_ + n) & mask_;
      if (slots_[i].key == 0) continue;
      ++sampled;
      if (victim == SIZE_MAX || slots_[i].value.last_ns < slots_[victim].value.last_ns) victim = i;
    }
    hand_ = (victim + 1) & mask_;
    if (victim != SIZE_MAX) Erase(victim);
  }

  // Backward-shift deletion: each later record of the probe run moves into
  // the hole when its home does not lie between the hole and it.
  void Erase(size_t hole) {
    for (size_t j = (hole + 1) & mask_; slots_[j].key != 0; j = (j + 1) & mask_) {
      const size_t home = Home(slots_[j].key);
      if (((j - home) & mask_) >= ((j - hole) & mask_)) {
        slots_[hole] = slots_[j];
        hole = j;
      }
    }
    slots_[hole].key = 0;
    --size_;
  }

  size_t max_entries_;
  std::unique_ptr<Slot[]> slots_;
  size_t mask_ = 0, size_ = 0, hand_ = 0;
  std::atomic<const Slot*> hint_slots_{nullptr};
  std::atomic<size_t> hint_mask_{0};
};

}  // namespace tosgate::engine
