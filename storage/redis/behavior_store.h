// A BehaviorStore whose cluster index is shared by a fleet of gateways
// through Redis, so that a distillation campaign spread over hundreds of
// accounts is one cluster even when a load balancer spreads those accounts
// over every gateway.
//
// Per-account records stay local (engine's memory store): they are read and
// written on every request and are about one account, so a Redis round trip
// each would buy little. Cluster buckets are kept twice:
//  - locally, as the memory store keeps them, so a request is scored at once
//    with what this gateway has seen; and
//  - in Redis, as a HyperLogLog of the accounts linked to the bucket (any
//    gateway) plus the bucket's mean suspicion, written by a background
//    thread every `sync_interval`: it sends the links queued since the last
//    round (one script call per bucket, all pipelined in one round trip),
//    and the fleet's counts it gets back are what later Links of the bucket
//    answer when they exceed the local view.
// So the request path never waits for Redis; the fleet view lags by about
// one sync interval. Keys are `<prefix>cl:{<bucket>}:h|s` (one hash slot per
// bucket, for Redis Cluster) and expire `bucket_ttl` after their last link.
//
// Failure: a round that cannot reach Redis drops its links (counted) and the
// store answers with the local view until Redis is back; a dropped link
// only delays a cluster's detection. Bounded: the queue of links awaiting a
// round and the cache of fleet counts have fixed capacities; what does not
// fit is dropped or evicted, and counted.
//
// Thread-safety: Update, Link and stats may be called from many threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "engine/distill/behavior_store.h"
#include "tosgate/status.h"

namespace tosgate::storage {

struct RedisBehaviorOptions {
  std::string url = "redis://127.0.0.1:6379";  // as RedisStateOptions::url
  std::string prefix = "tosgate:";
  std::chrono::milliseconds connect_timeout{200};
  std::chrono::milliseconds command_timeout{200};  // for one round of the sync
  // Between rounds of the background sync; zero: no background thread (the
  // owner calls SyncNow, as tests do).
  std::chrono::milliseconds sync_interval{200};
  std::chrono::seconds bucket_ttl{std::chrono::hours(24)};
  size_t max_pending = 65536;    // links awaiting a round
  size_t max_cached = 500'000;   // fleet counts kept locally
  engine::MemoryBehaviorOptions local{};
};

struct RedisBehaviorCounters {
  uint64_t rounds = 0;         // sync rounds that reached Redis
  uint64_t links_sent = 0;     // links written to Redis
  uint64_t links_dropped = 0;  // links not sent: queue full or Redis unreachable
  uint64_t errors = 0;         // rounds or replies that failed
  uint64_t cache_evictions = 0;
};

class RedisBehaviorStore final : public engine::BehaviorStore {
 public:
  // Connects once to check the URL, the password and the script.
  static Result<std::unique_ptr<RedisBehaviorStore>> Open(RedisBehaviorOptions options);
  ~RedisBehaviorStore() override;

  void Prefetch(uint64_t key, const uint64_t* buckets, size_t n) const override;
  void Update(uint64_t key, int64_t now_ns,
              engine::FunctionRef<void(engine::AccountBehavior&)> fn) override;
  engine::ClusterObservation Link(uint64_t bucket, uint64_t account, float suspicion,
                                  int64_t now_ns) override;
  void LinkMany(const uint64_t* buckets, size_t n, uint64_t account, float suspicion, int64_t now_ns,
                engine::ClusterObservation* out) override;
  engine::BehaviorStats stats() const override;

  // Sends the queued links and refreshes their buckets' fleet counts now.
  // Unavailable when Redis could not be reached (the links are dropped).
  Status SyncNow();

  RedisBehaviorCounters counters() const;

  struct Impl;

 private:
  explicit RedisBehaviorStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tosgate::storage
