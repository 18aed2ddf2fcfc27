// Admissions: what admitted requests still hold — token reservations waiting
// for their usage report, concurrency leases waiting for completion — keyed
// by decision id.
//
// Bounded: when full, the entry closest to expiry is dropped (counted), which
// commits its reservations as reserved. Thread-safe (sharded mutexes).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/rule.h"

namespace tosgate::engine {

class Admissions {
 public:
  explicit Admissions(size_t max_entries = 1'000'000);

  void Add(std::string decision_id, std::vector<Charge> charges, int64_t expires_ns);
  // Removes and returns what `decision_id` holds; nullopt when unknown,
  // already taken or expired.
  std::optional<std::vector<Charge>> Take(std::string_view decision_id, int64_t now_ns);
  // Removes entries expired at `now_ns` from one shard (they rotate) and
  // returns their charges, so that their leases can be released.
  std::vector<Charge> ExpireSome(int64_t now_ns);

  size_t size() const;
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  uint64_t expired() const { return expired_.load(std::memory_order_relaxed); }

 private:
  struct Entry {
    std::vector<Charge> charges;
    int64_t expires_ns = 0;
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, Entry> entries;
  };
  Shard& ShardFor(std::string_view id);

  std::unique_ptr<Shard[]> shards_;
  size_t per_shard_cap_;
  std::atomic<uint64_t> next_shard_{0};
  std::atomic<uint64_t> dropped_{0}, expired_{0};
};

}  // namespace tosgate::engine
