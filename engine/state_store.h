// StateStore: the counters shared by all requests — rate meters, token
// budgets and concurrency leases.
//
// Implementations are safe to call from many threads; every call on one key
// is atomic, which is what makes limits exact under concurrency. The memory
// store (engine/memory_state_store.cc) is the default; the Redis one
// (storage/redis/state_store.h) lets several gateways share limits.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "tosgate/status.h"

namespace tosgate::engine {

// How a meter counts. Every meter counts units: requests, or tokens.
enum class Meter : uint8_t {
  // Sliding window: the last `period_ns` is estimated from the current fixed
  // window's count plus the previous one's, weighted by how much of it still
  // overlaps. No double burst at window edges.
  kWindow,
  // GCRA (a token bucket in virtual-scheduling form): `limit` units per
  // `period_ns` at a steady pace, plus `burst` units at once.
  kGcra,
  // A fixed period named by `period_index` (a UTC day or month number) that
  // ends `period_left_ns` from now: calendar quotas.
  kPeriod,
};

struct MeterSpec {
  Meter meter = Meter::kWindow;
  int64_t limit = 0;           // units per period (> 0)
  int64_t period_ns = 0;       // window or GCRA period (> 0); kPeriod: its length
  int64_t burst = 0;           // kGcra only
  int64_t period_index = 0;    // kPeriod only
  int64_t period_left_ns = 0;  // kPeriod only: from now to the period's end
};

struct MeterResult {
  bool allowed = false;
  int64_t used = 0;            // units counted, this request's included when allowed
  int64_t remaining = 0;       // units that would still be admitted now
  int64_t retry_after_ns = 0;  // when refused: until `cost` more units would fit
  int64_t reset_ns = 0;        // until the meter is back to full or its window ends
  int64_t delay_ns = 0;        // kGcra with max_delay: admitted, hold it this long
};

class StateStore {
 public:
  virtual ~StateStore() = default;

  // Counts `cost` units on `key` when they fit, atomically. With kGcra and
  // max_delay_ns > 0, units that would fit within max_delay_ns are admitted
  // with delay_ns set instead of refused (nginx limit_req ... delay=).
  // Callers put the rule id and its limit in the key, so a reload that keeps
  // both keeps the count.
  virtual Result<MeterResult> Take(std::string_view key, const MeterSpec& spec, int64_t cost,
                                   int64_t now_ns, int64_t max_delay_ns = 0) = 0;

  // Adds `delta` units (negative: gives them back) to what Take counted at
  // `taken_at_ns`, if the window it went into is still remembered; a count
  // never goes below zero. Used to refund a request refused by a later rule
  // and to reconcile a token reservation with actual usage.
  virtual Status Adjust(std::string_view key, const MeterSpec& spec, int64_t taken_at_ns,
                        int64_t delta, int64_t now_ns) = 0;

  // Concurrency: holds one of `limit` leases on `key` until Release or until
  // `ttl_ns` passes. `used` counts the leases held, this one included.
  //
  // A bounded store never forgets a live count to make room: Take and
  // Acquire on a key it does not track yet return ResourceExhausted when it
  // is full of live entries (counted by refusals()), and the engine decides
  // by failure_mode. Only idle entries, which read the same as none, are
  // evicted (counted by evictions()).
  virtual Result<MeterResult> Acquire(std::string_view key, uint64_t lease_id, int64_t limit,
                                      int64_t now_ns, int64_t ttl_ns) = 0;
  virtual void Release(std::string_view key, uint64_t lease_id) = 0;

  // Reads what Take(key, spec, 0, now_ns) would report without counting,
  // creating or touching anything: no entry for an untracked key, no
  // refusal counted when full, no change to when an entry turns idle (for
  // people: the admin API's usage). The default is that zero-cost Take,
  // which counts nothing but may track the key; the memory store overrides it.
  virtual Result<MeterResult> Peek(std::string_view key, const MeterSpec& spec, int64_t now_ns) {
    return Take(key, spec, 0, now_ns);
  }
  // The leases held on `key` at now_ns, without taking one; -1 when the
  // store cannot tell without Acquire (the default).
  virtual Result<int64_t> LeasesHeld(std::string_view key, int64_t now_ns) {
    (void)key, (void)now_ns;
    return int64_t{-1};
  }

  virtual size_t entries() const = 0;
  virtual uint64_t evictions() const = 0;
  // New keys refused because the store was full of live entries. A store
  // that never refuses (Redis: its own maxmemory policy) keeps the default.
  virtual uint64_t refusals() const { return 0; }
};

struct MemoryStateOptions {
  // Tracked keys at most (meters and lease holders together), split evenly
  // over the shards; docs/scaling.md says how to size it.
  size_t max_entries = 1'000'000;
  size_t shards = 64;
};
std::unique_ptr<StateStore> NewMemoryStateStore(MemoryStateOptions opts = {});

}  // namespace tosgate::engine
