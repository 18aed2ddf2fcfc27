// StateStore: counters shared by all requests (rate windows for now; token
// budgets, leases and detection features come with their rule kinds).
//
// Implementations are safe to call from many threads. The memory store is
// the default; a Redis one will let several gateways share exact limits.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "tosgate/status.h"

namespace tosgate::engine {

struct WindowResult {
  bool allowed = false;
  int64_t used = 0;            // requests counted in the sliding window, this one included if allowed
  int64_t retry_after_ns = 0;  // when denied: until one more would be allowed
  int64_t reset_ns = 0;        // until the current fixed window ends
};

class StateStore {
 public:
  virtual ~StateStore() = default;

  // Sliding-window counter: the window [now - window, now] is estimated from
  // the current fixed window's count plus the previous one's, weighted by how
  // much of it still overlaps. Counts one hit when the estimate stays within
  // `limit`. Keys include the rule id and its limit, so a reload that keeps
  // both keeps the counter.
  virtual Result<WindowResult> WindowHit(std::string_view key, int64_t now_ns,
                                         int64_t window_ns, int64_t limit) = 0;

  virtual size_t entries() const = 0;
  virtual uint64_t evictions() const = 0;
};

struct MemoryStateOptions {
  size_t max_entries = 1'000'000;
  size_t shards = 64;
};
std::unique_ptr<StateStore> NewMemoryStateStore(MemoryStateOptions opts = {});

}  // namespace tosgate::engine
