// Admissions: what admitted requests still hold — token reservations waiting
// for their usage report, concurrency leases waiting for completion — keyed
// by decision id.
//
// Bounded: when full, the entry closest to expiry is dropped (counted), which
// commits its reservations as reserved. Thread-safe (sharded mutexes).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/rule.h"
#include "tosgate/status.h"

namespace tosgate::engine {

// Who reports a request's usage. The inline proxy relays the response itself
// and counts what it saw; anything else (POST /v1/usage, an embedding
// program) is external, and may not reconcile a request the inline proxy
// relays: a client that learnt its own decision id could otherwise report
// zero usage and take its reservation back while its stream runs.
enum class UsageSource : uint8_t { kInlineProxy, kExternal };

// What one admitted request holds, and what its usage report is checked and
// recorded against.
struct Admission {
  std::vector<Charge> charges;
  bool inline_proxy = false;  // Request::inline_proxy at admission
  std::string account;        // for the usage report's audit record
  std::string operation;
  int64_t expires_ns = 0;
};

class Admissions {
 public:
  explicit Admissions(size_t max_entries = 1'000'000);

  void Add(std::string decision_id, Admission admission);
  // Removes what `decision_id` holds into *out. NotFound when unknown,
  // already taken or expired; FailedPrecondition, leaving it in place, when
  // the gateway relays the request itself and the report is external.
  Status Take(std::string_view decision_id, int64_t now_ns, UsageSource source, Admission* out);
  // Removes entries expired at `now_ns` from one shard (they rotate) and
  // returns their charges, so that their leases can be released.
  std::vector<Charge> ExpireSome(int64_t now_ns);

  // What the open admission of `decision_id` waits for, as kAwaits* bits;
  // 0 when it holds nothing (or is unknown). A proxy that relays the
  // response itself (the nginx module) reads the response's usage only when
  // it settles a reservation, and reports the end only when something waits.
  static constexpr unsigned kAwaitsCompletion = 1;  // concurrency leases to release
  static constexpr unsigned kAwaitsUsage = 2;       // token or cost reservations to settle
  unsigned Awaits(std::string_view decision_id) const;

  size_t size() const;
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  uint64_t expired() const { return expired_.load(std::memory_order_relaxed); }

 private:
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, Admission> entries;
  };
  Shard& ShardFor(std::string_view id);

  std::unique_ptr<Shard[]> shards_;
  size_t per_shard_cap_;
  std::atomic<uint64_t> next_shard_{0};
  std::atomic<uint64_t> dropped_{0}, expired_{0};
};

}  // namespace tosgate::engine
